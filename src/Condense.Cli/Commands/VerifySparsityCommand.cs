using System.CommandLine;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Language.Sparsity;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense verify-sparsity PATH</c>: checks that every decoder-layer linear of a safetensors checkpoint is
/// exactly 2:4 along the input dimension (and matches its mask file when there is one). Exit 1 naming the first
/// offending tensor, row and group otherwise.
/// </summary>
internal static class VerifySparsityCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var path = new Argument<string>("PATH") { Description = "A model.safetensors (or a folder holding one), e.g. a sparsify output." };
        var cmd = new Command("verify-sparsity", "Check that every pruned linear of a checkpoint is exactly 2:4 along the input dimension.") { path, json };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var file = pr.GetValue(path)!;
            if (Directory.Exists(file)) file = Path.Combine(file, "model.safetensors");
            if (!File.Exists(file)) throw new InputException($"{file}: file not found");
            TorchRuntime.EnsureLoaded();
            var r = SparseCheckpoint.Verify(file);
            output.Result(new
            {
                path = Path.GetFullPath(file),
                ok = r.Ok,
                tensors = r.Tensors,
                weights = r.Weights,
                mask_file_checked = r.MaskFileChecked,
                problem = r.Problem,
            });
            if (r.Ok)
            {
                if (!output.Json)
                    output.Human.MarkupLine($"[green]ok[/]: {r.Tensors} linears ({r.Weights} weights) are 2:4 along the input dimension{(r.MaskFileChecked ? " and match the mask file" : "")}");
                return ExitCodes.Ok;
            }
            CliOutput.Error(r.Problem!);
            return ExitCodes.Failure;
        });
        return cmd;
    }
}
