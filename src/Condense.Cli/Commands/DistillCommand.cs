using System.CommandLine;
using System.Globalization;
using Condense.Experiments;
using Condense.Vision.Distillation;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense distill</c>: AM-RADIO agglomerative distillation of several frozen teachers into one student,
/// from a YAML recipe (default: configs/radio/default.yaml) with <c>--set key=value</c> overrides. Resumable.
/// </summary>
internal static class DistillCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var recipe = new Option<string?>("--recipe") { Description = "Recipe YAML (default: configs/radio/default.yaml)." };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key, e.g. --set train.steps=500 --set teachers[0].input_size=64 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var student = new Option<string?>("--student") { Description = "Student backbone (sets student.model)." };
        var teachers = new Option<string?>("--teachers") { Description = "Comma-separated names of the recipe's teachers to use (default: all)." };
        var steps = new Option<long?>("--steps") { Description = "Training steps (sets train.steps)." };
        var runDir = new Option<string?>("--run-dir") { Description = "Run folder (default: runs/distill-<recipe name>)." };
        var noResume = new Option<bool>("--no-resume") { Description = "Start over instead of resuming from the run folder's newest checkpoint." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run teachers online every step instead of caching their outputs (sets train.cache=false)." };
        var progress = CommonOptions.Progress();
        var allowChange = CommonOptions.AllowConfigChange();
        var doc = CommonOptions.Doc("the kNN, probe and fidelity tables");
        var section = CommonOptions.Section();
        var cmd = new Command("distill", "Distill several frozen teachers into one student (AM-RADIO), then evaluate and write a report.")
        {
            recipe, set, student, teachers, steps, runDir, noResume, noCache, allowChange, progress, doc, section, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var overrides = (pr.GetValue(set) ?? []).ToList();
            if (pr.GetValue(student) is string s) overrides.Add($"student.model={s}");
            if (pr.GetValue(steps) is long n) overrides.Add($"train.steps={n}");
            if (pr.GetValue(noCache)) overrides.Add("train.cache=false");
            var r = pr.GetValue(recipe) is string path ? RecipeLoader.Load(path, overrides) : RecipeLoader.LoadDefault(overrides);
            if (pr.GetValue(teachers) is string names) r = r.WithTeachers(names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var dir = pr.GetValue(runDir) ?? Path.Combine("runs", $"distill-{r.Name}");
            CommonOptions.SectionName(pr.GetValue(section), DocSection);              // a bad name fails before the run
            using var resumable = Interruption.Resumable();   // Ctrl+C / SIGTERM: checkpoint, then exit 1
            var result = Distiller.Run(r, new DistillRunOptions(dir, !pr.GetValue(noResume), pr.GetValue(progress), pr.GetValue(allowChange)), cancellation);
            Emit(output, result);
            WriteDoc(pr.GetValue(doc), pr.GetValue(section), result);
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>--doc: the result tables as a generated section, the JSON result beside the doc.</summary>
    internal static void WriteDoc(string? docPath, string? section, DistillResult r)
    {
        if (docPath is null) return;
        GeneratedDoc.Write(docPath, CommonOptions.SectionName(section, DocSection), DistillReport.ResultTables(r), ResultJson(r), jsonName: section);
    }

    /// <summary>The section distill and eval write when --section is not given (its JSON is named after the doc).</summary>
    internal const string DocSection = "distill-results";

    /// <summary>The JSON result and the human summary shared by distill and eval.</summary>
    internal static void Emit(CliOutput output, DistillResult r)
    {
        output.Result(ResultJson(r));
        if (output.Json) return;
        var table = new Table().AddColumn("teacher").AddColumn("teacher kNN").AddColumn("student kNN (adaptor)");
        foreach (var k in r.Knn)
            table.AddRow(Markup.Escape(k.Teacher), Pct(k.TeacherKnn), Pct(k.StudentKnn));
        table.AddRow("[bold]student combined[/]", "", $"[bold]{Pct(r.Combined.Knn)}[/]");
        output.Human.Write(table);
        output.Human.MarkupLine($"report: {Markup.Escape(r.ReportPath)}");
    }

    private static object ResultJson(DistillResult r)
    {
        return new
        {
            report = r.ReportPath,
            run_dir = r.RunDir,
            model = r.ModelPath.Length > 0 ? Path.GetFullPath(r.ModelPath) : null,
            pca = r.PcaPath,
            data = r.DataSource,
            knn = r.Knn.Select(k => new
            {
                teacher = k.Teacher,
                teacher_accuracy = k.TeacherKnn,
                student_accuracy = k.StudentKnn,
                teacher_probe = k.TeacherProbe,
                student_probe = k.StudentProbe,
            }),
            combined_student_accuracy = r.Combined.Knn,
            combined_student_probe = r.Combined.Probe,
            backbone_summary_accuracy = r.BackboneSummary.Knn,
            fidelity = r.Fidelity.Select(f => new { teacher = f.Teacher, output = f.Output, mse = f.Mse, cosine = f.Cosine, fidelity = f.Fidelity }),
            teacher_cost = r.TeacherCost.Select(c => new { teacher = c.Teacher, input_size = c.InputSize, ms_per_image = double.IsNaN(c.MsPerImage) ? (double?)null : c.MsPerImage, images_computed = c.ImagesComputed }),
            steps = r.Training?.Steps,
            final_loss = r.Training?.FinalLoss,
            training_s = r.Training?.ElapsedSeconds,
        };
    }

    private static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
