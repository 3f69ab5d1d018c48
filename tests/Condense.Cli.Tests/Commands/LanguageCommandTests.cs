using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>`condense generate` and `condense eval-ppl` on the real TinyStories models, and their bad-input errors.</summary>
public sealed class LanguageCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-lm-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static string Shared(string relative) => AssetPaths.Require(relative);

    [Fact]
    public void Generate_json_reproduces_llama2c_greedy_text()
    {
        var r = CliProcess.Run("generate", "--prompt", "Once upon a time", "--steps", "100", "--threads", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. " +
            "One day, she saw a big, red ball.", json.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(101, json.GetProperty("tokens").GetArrayLength());
        Assert.Equal(5, json.GetProperty("prompt_tokens").GetInt32());
        // The streamed text went to stderr, the JSON alone to stdout.
        Assert.Contains("red ball", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_from_the_hf_copy_with_sampling_is_seeded()
    {
        string[] args = ["generate", "--model", Shared("models/hf/stories260K"), "--prompt", "The cat", "--steps", "40",
            "--temperature", "0.8", "--top-p", "0.9", "--seed", "5", "--threads", "1", "--json"];
        var a = CliProcess.Run(args);
        var b = CliProcess.Run(args);
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.Equal(a.Json().GetProperty("text").GetString(), b.Json().GetProperty("text").GetString());
        Assert.StartsWith("The cat", a.Json().GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_ppl_json_reports_nll_ppl_and_tokens()
    {
        var r = CliProcess.Run("eval-ppl", "--max-docs", "40", "--threads", "1", "--progress", "none", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        var nll = json.GetProperty("mean_nll").GetDouble();
        Assert.InRange(nll, 1.0, 2.2);
        Assert.Equal(Math.Exp(nll), json.GetProperty("ppl").GetDouble(), 6);
        Assert.Equal(40, json.GetProperty("documents").GetInt32());
        Assert.True(json.GetProperty("tokens").GetInt64() > 1000);
    }

    [Fact]
    public void Truncated_checkpoint_is_a_one_line_error()
    {
        var bytes = File.ReadAllBytes(Shared("models/llama2c/stories260K.bin"));
        var path = Path.Combine(_root, "cut.bin");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        AssertBadInput(CliProcess.Run("eval-ppl", "--model", path, "--json"), path, "truncated");
    }

    [Fact]
    public void Tokenizer_not_matching_the_vocabulary_is_rejected()
    {
        // tok512.bin with its last token cut off: the model's 512-token vocabulary cannot be read from it.
        var bytes = File.ReadAllBytes(Shared("models/llama2c/tok512.bin"));
        var path = Path.Combine(_root, "tok511.bin");
        File.WriteAllBytes(path, bytes[..^4]);
        AssertBadInput(CliProcess.Run("generate", "--tokenizer", path, "--prompt", "Hi"), path, "512");
    }

    [Fact]
    public void Text_that_is_not_utf8_is_rejected_with_its_offset()
    {
        var path = Path.Combine(_root, "latin1.txt");
        File.WriteAllBytes(path, [.. "Once upon a time"u8, 0xE9, .. " there was\n"u8]);
        AssertBadInput(CliProcess.Run("eval-ppl", "--text", path), path, "invalid UTF-8 at byte offset 16");
    }

    [Fact]
    public void Steps_beyond_the_sequence_length_and_missing_files_are_rejected()
    {
        AssertBadInput(CliProcess.Run("generate", "--steps", "600"), "stories260K.bin", "1..512");
        var missing = Path.Combine(_root, "nope.bin");
        AssertBadInput(CliProcess.Run("eval-ppl", "--model", missing), missing, "not found");
    }

    [Fact]
    public void Native_and_torch_engines_agree_and_generate_defaults_to_native()
    {
        var native = CliProcess.Run("generate", "--model", Shared("models/llama2c/llama2xs_tinystories.bin"), "--prompt", "The dog", "--steps", "150", "--json");
        var torch = CliProcess.Run("generate", "--model", Shared("models/llama2c/llama2xs_tinystories.bin"), "--prompt", "The dog", "--steps", "150", "--engine", "torch", "--json");
        Assert.True(native.ExitCode == 0, native.Stderr);
        Assert.Equal("native", native.Json().GetProperty("engine").GetString());
        Assert.Equal("torch", torch.Json().GetProperty("engine").GetString());
        Assert.Equal(torch.Json().GetProperty("text").GetString(), native.Json().GetProperty("text").GetString());

        var pplNative = CliProcess.Run("eval-ppl", "--max-docs", "30", "--engine", "native", "--progress", "none", "--json").Json();
        var pplTorch = CliProcess.Run("eval-ppl", "--max-docs", "30", "--progress", "none", "--json").Json();
        Assert.Equal("torch", pplTorch.GetProperty("engine").GetString());
        Assert.Equal(pplTorch.GetProperty("tokens").GetInt64(), pplNative.GetProperty("tokens").GetInt64());
        Assert.Equal(pplTorch.GetProperty("ppl").GetDouble(), pplNative.GetProperty("ppl").GetDouble(), 1e-4);
        AssertBadInput(CliProcess.Run("generate", "--engine", "gpu"), "--engine", "gpu");
    }

    private static void AssertBadInput(CliProcess.Result r, string name, string fragment)
    {
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(name, lines[0], StringComparison.Ordinal);
        Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
        Assert.Empty(r.Stdout);
    }
}
