using System.CommandLine;
using Condense.Vision.Distillation;

namespace Condense.Cli.Commands;

/// <summary><c>condense eval</c>: reruns a distilled student's evaluation (kNN, probe, fidelity, PCA, report).</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder or its model.safetensors (from condense distill)." };
        var outDir = new Option<string?>("--out") { Description = "Where to write the report (default: <run folder>/eval)." };
        var progress = CommonOptions.Progress();
        var doc = CommonOptions.Doc("the kNN, probe and fidelity tables");
        var section = CommonOptions.Section();
        var cmd = new Command("eval", "Evaluate a distilled student: kNN and linear probe per teacher, fidelity, PCA figure, report.")
        {
            checkpoint, outDir, progress, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            CommonOptions.SectionName(pr.GetValue(section), DistillCommand.DocSection);     // a bad name fails before the evaluation
            var path = pr.GetValue(checkpoint)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new Condense.Core.InputException($"checkpoint not found: {path}");
            var result = Distiller.Evaluate(path, pr.GetValue(outDir), pr.GetValue(progress));
            DistillCommand.Emit(output, result);
            DistillCommand.WriteDoc(pr.GetValue(doc), pr.GetValue(section), result);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
