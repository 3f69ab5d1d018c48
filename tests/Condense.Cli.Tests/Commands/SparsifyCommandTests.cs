using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>`condense sparsify --json` and `condense verify-sparsity` on the real stories260K, plus bad input.</summary>
public sealed class SparsifyCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-sparsify-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static string Model => SharedAssets.Stories260KPath;

    [Fact]
    public void Sparsify_reports_dense_and_sparse_perplexity_and_the_export_verifies()
    {
        var r = CliProcess.Run("sparsify", "--model", Model, "--method", "magnitude,maskllm", "--out", _root,
            "--steps", "4", "--batch-size", "2", "--seq-len", "64", "--calib-samples", "4", "--calib-seq-len", "64",
            "--eval-docs", "40", "--threads", "1", "--progress", "none", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        double dense = json.GetProperty("dense_ppl").GetDouble();
        Assert.InRange(dense, 1.5, 20);
        Assert.True(json.GetProperty("eval_tokens").GetInt64() > 1000);
        var magnitude = json.GetProperty("methods").GetProperty("magnitude");
        Assert.True(magnitude.GetProperty("ppl").GetDouble() > dense);
        Assert.Equal(0, magnitude.GetProperty("calibration_tokens").GetInt64());
        var maskllm = json.GetProperty("methods").GetProperty("maskllm");
        Assert.Equal(4 * 2 * 64, maskllm.GetProperty("training_tokens").GetInt64());
        Assert.Equal(4 * 64, maskllm.GetProperty("calibration_tokens").GetInt64());   // the SparseGPT prior's pass
        Assert.True(maskllm.GetProperty("verified_2_4").GetBoolean());

        var checkpoint = magnitude.GetProperty("checkpoint").GetString()!;
        var v = CliProcess.Run("verify-sparsity", Path.GetDirectoryName(checkpoint)!, "--json");
        Assert.True(v.ExitCode == 0, v.Stderr);
        Assert.True(v.Json().GetProperty("ok").GetBoolean());
        Assert.Equal(35, v.Json().GetProperty("tensors").GetInt32());
        Assert.True(v.Json().GetProperty("mask_file_checked").GetBoolean());
        // The exported llama2.c file loads in eval-ppl's loader too: sizes checked by the verifier's sibling.
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(checkpoint)!, "model.bin")));

        // The exported mask file as a prior applied as it is (the transfer path) gives back MaskLLM's model exactly.
        var maskFile = Path.ChangeExtension(maskllm.GetProperty("checkpoint").GetString()!, ".mask24.safetensors");
        var again = CliProcess.Run("sparsify", "--model", Model, "--method", "prior", "--prior", maskFile, "--out", Path.Combine(_root, "again"),
            "--calib-samples", "4", "--calib-seq-len", "64", "--eval-docs", "40", "--threads", "1", "--progress", "none", "--json");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(maskllm.GetProperty("ppl").GetDouble(), again.Json().GetProperty("methods").GetProperty("prior").GetProperty("ppl").GetDouble(), 9);

        // A dense checkpoint fails, naming the first tensor, row and group.
        var dense2 = Path.Combine(_root, "dense.safetensors");
        using (var content = Safetensors.Load(AssetPaths.Require("models/hf/stories260K/model.safetensors")))
            Safetensors.Save(dense2, content.Tensors);
        var bad = CliProcess.Run("verify-sparsity", dense2);
        Assert.Equal(1, bad.ExitCode);
        Assert.Matches(@"^error: model\.layers\.0\.mlp\.down_proj\.weight: row 0 group 0 \(input columns 0-3\) has [34] non-zeros", bad.Stderr.Trim());
    }

    [Fact]
    public void A_Hugging_Face_folder_is_a_model_like_the_llama2c_file()
    {
        string[] common = ["--method", "magnitude", "--calib-samples", "4", "--calib-seq-len", "64", "--eval-docs", "40", "--progress", "none", "--json"];
        var bin = CliProcess.Run(["sparsify", "--model", Model, "--out", Path.Combine(_root, "bin"), .. common]);
        var hf = CliProcess.Run(["sparsify", "--model", SharedAssets.HfStories260KDir, "--out", Path.Combine(_root, "hf"), .. common]);
        Assert.True(bin.ExitCode == 0, bin.Stderr);
        Assert.True(hf.ExitCode == 0, hf.Stderr);
        // same weights in another layout (q/k rows permuted), the tokenizer found the same way: the same perplexities
        Assert.Equal(bin.Json().GetProperty("dense_ppl").GetDouble(), hf.Json().GetProperty("dense_ppl").GetDouble(), 3);
        Assert.Equal(bin.Json().GetProperty("methods").GetProperty("magnitude").GetProperty("ppl").GetDouble(),
            hf.Json().GetProperty("methods").GetProperty("magnitude").GetProperty("ppl").GetDouble(), 3);
    }

    [Theory]
    [InlineData("--method", "obd", "unknown method 'obd'")]
    [InlineData("--method", "magnitude", "model not found: nope.bin", "--model", "nope.bin")]
    [InlineData("--method", "maskllm", "--prior 'foo'", "--prior", "foo")]
    public void Bad_input_is_one_line_and_exit_2(string option, string value, string message, params string[] extra)
    {
        var args = new List<string> { "sparsify", "--model", Model, "--out", _root, option, value };
        for (int i = 0; i + 1 < extra.Length; i += 2)
        {
            int at = args.IndexOf(extra[i]);
            if (at >= 0) args[at + 1] = extra[i + 1];
            else args.AddRange([extra[i], extra[i + 1]]);
        }
        var r = CliProcess.Run([.. args]);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("error: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void Verify_sparsity_of_a_missing_file_is_exit_2()
    {
        var r = CliProcess.Run("verify-sparsity", Path.Combine(_root, "none.safetensors"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("none.safetensors: file not found", r.Stderr);
    }

    [Fact]
    public void A_corrupt_model_without_a_tokenizer_beside_it_is_blamed_on_the_model()
    {
        // The model is read before the tokenizer is looked for: the error names what is actually wrong.
        var folder = Path.Combine(_root, "corrupt");
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "m.bin");
        File.WriteAllBytes(model, File.ReadAllBytes(Model)[..1000]);
        var r = CliProcess.Run("sparsify", "--model", model, "--method", "magnitude", "--out", Path.Combine(_root, "out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("m.bin: 1000 bytes but its header", r.Stderr);
        Assert.DoesNotContain("tok", r.Stderr.Replace("tokens", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
