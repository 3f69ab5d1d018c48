using System.CommandLine;
using System.Globalization;
using Condense.Core.Reports;
using Condense.Vision.Distillation;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense bench ...</c>: benchmarks anyone can rerun; results go to stdout (and --json), and with
/// <c>--doc FILE</c> into that Markdown file's section for the benchmark, with the command that produced them.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks (not run in CI): distill.");
        bench.Subcommands.Add(Distill());
        return bench;
    }

    private static Command Distill()
    {
        var json = CommonOptions.Json();
        var recipe = new Option<string?>("--recipe") { Description = "Recipe YAML (default: configs/radio/default.yaml)." };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key (repeatable)." };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per mode and round.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps before each timing.", DefaultValueFactory = _ => 2 };
        var doc = new Option<string?>("--doc") { Description = "Write the result into this Markdown file (e.g. docs/benchmarks.md)." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("distill", "Distillation step throughput: student alone vs teacher targets from the cache vs teachers online.")
        {
            recipe, set, rounds, steps, warmup, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var overrides = pr.GetValue(set) ?? [];
            var r = pr.GetValue(recipe) is string path ? RecipeLoader.Load(path, overrides) : RecipeLoader.LoadDefault(overrides);
            var result = DistillBenchmark.Run(r, pr.GetValue(rounds), pr.GetValue(steps), pr.GetValue(warmup), pr.GetValue(progress));
            var command = "./condense bench distill " + string.Join(' ', Environment.GetCommandLineArgs().Skip(3));
            var table = new MarkdownTable("mode", "images/s (median)", "per round", "vs student")
            {
                DoubleFormat = "F1",
            };
            foreach (var m in result.Modes)
                table.AddRow(m.Mode, m.ImagesPerSecond, string.Join(", ", m.PerRound.Select(v => v.ToString("F1", CultureInfo.InvariantCulture))),
                    m.Mode == "student" ? "1.00" : (m.Mode == "cached" ? result.CachedOverStudent : result.OnlineOverStudent).ToString("F2", CultureInfo.InvariantCulture));
            var cost = new MarkdownTable("teacher", "input size", "teacher ms / image");
            foreach (var c in result.TeacherCost) cost.AddRow(c.Teacher, c.InputSize, c.MsPerImage.ToString("F2", CultureInfo.InvariantCulture));
            output.Result(new
            {
                batch_size = result.BatchSize,
                steps = result.Steps,
                rounds = result.Rounds,
                modes = result.Modes.Select(m => new { mode = m.Mode, images_per_s = m.ImagesPerSecond, per_round = m.PerRound }),
                cached_over_student = result.CachedOverStudent,
                online_over_student = result.OnlineOverStudent,
                teacher_cost = result.TeacherCost.Select(c => new { teacher = c.Teacher, input_size = c.InputSize, ms_per_image = c.MsPerImage }),
            });
            if (!output.Json) output.Human.WriteLine(table.ToString() + "\n" + cost);
            if (pr.GetValue(doc) is string docPath)
            {
                var section = new MarkdownReport()
                    .Heading(2, "Distillation throughput: cached vs online teachers")
                    .Paragraph($"Recipe `{r.Name}` (student {r.Student.Model} dim {r.Student.EmbedDim} depth {r.Student.Depth} at {r.Data.Resolution} px, " +
                               $"batch {result.BatchSize}; teachers {string.Join(", ", r.Teachers.Select(t => $"{t.Name}@{t.InputSize}"))}), " +
                               $"{result.Rounds} alternated rounds of {result.Steps} timed steps per mode, {TorchSharp.torch.get_num_threads()} threads, {Condense.Core.Runtime.MachineInfo.Describe()}.")
                    .CodeBlock("", command)
                    .Table(table)
                    .Paragraph("\"student\" is the student's own forward+backward with the targets already in memory; \"cached\" reads " +
                               "the teacher targets from the disk cache inside the step (what `condense distill` does); \"online\" runs every " +
                               "teacher inside the step. Target: cached ≥ 0.90 of student.")
                    .Table(cost);
                MarkdownSection.Write(docPath, "distill-throughput", section.ToString());
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
