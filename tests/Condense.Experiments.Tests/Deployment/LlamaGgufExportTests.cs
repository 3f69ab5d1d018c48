using Condense.Core.IO.Gguf;
using Condense.Experiments.Deployment;
using Condense.Language.Checkpoints;
using Condense.Language.Evaluation;
using Condense.Language.Export;
using Condense.Language.Generation;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Experiments.Tests.Deployment;

public sealed class LlamaGgufExportTests : IDisposable
{
    private static readonly Lazy<Llama2cTokenizer> Tok512 = new(() => Llama2cTokenizer.Load(SharedAssets.Tok512Path, 512));
    private readonly string dir = Directory.CreateTempSubdirectory("condense-gguf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Export(LlamaForCausalLM model, GgufDtype dtype, string name)
    {
        var path = Path.Combine(dir, $"{name}-{dtype}.gguf");
        LlamaGgufExport.Write(model, Tok512.Value, path, dtype, name);
        return path;
    }

    private static List<int> CondenseGreedy(LlamaForCausalLM model, IReadOnlyList<int> prompt, int steps) =>
        LlamaGenerator.Generate(model, prompt, steps, new SamplingOptions(Temperature: 0)).Tokens.ToList();

    [Theory]
    [InlineData(GgufDtype.F32)]
    [InlineData(GgufDtype.F16)]
    public void Stories260K_in_llama_cpp_generates_condense_greedy_tokens(GgufDtype dtype)
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedAssets.Stories260KPath);
        var prompt = Tok512.Value.Encode("Once upon a time", bos: true);
        var expected = CondenseGreedy(model, prompt, 200);
        Assert.True(expected.Count > 100, $"only {expected.Count} tokens to compare");
        using var cpp = new LlamaCppModel(Export(model, dtype, "stories260K"), 256);
        Assert.Equal(expected, cpp.Greedy(prompt, 200));
    }

    [Fact]
    public void Llama2xs_f32_in_llama_cpp_generates_condense_greedy_tokens()
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedAssets.Llama2xsPath);
        var prompt = Tok512.Value.Encode("The dog", bos: true);
        var expected = CondenseGreedy(model, prompt, 150);
        using var cpp = new LlamaCppModel(Export(model, GgufDtype.F32, "llama2xs"), 256);
        Assert.Equal(expected, cpp.Greedy(prompt, 150));
    }

    [Fact]
    public void Hugging_Face_layout_is_unpermuted_for_llama_cpp()
    {
        using var scope = NewDisposeScope();
        using var model = HfLlamaCheckpoint.Read(SharedAssets.HfStories260KDir);
        Assert.Equal(RopeLayout.RotateHalf, model.Config.RopeLayout);
        var prompt = Tok512.Value.Encode("Lily saw a cat", bos: true);
        var expected = CondenseGreedy(model, prompt, 120);
        using var cpp = new LlamaCppModel(Export(model, GgufDtype.F32, "hf-stories260K"), 256);
        Assert.Equal(expected, cpp.Greedy(prompt, 120));
    }

    // A model of another shape holding the leading block of each of the full model's tensors it has.
    private static LlamaForCausalLM Derived(LlamaForCausalLM full, LlamaConfig config)
    {
        var model = new LlamaForCausalLM(config);
        model.eval();
        using var noGrad = no_grad();
        var source = full.state_dict();
        foreach (var (name, tensor) in model.state_dict())
            tensor.copy_(LayerWidthPadding.Leading(source[name], tensor.shape));
        return model;
    }

    [Fact]
    public void Depth_pruned_model_runs_in_llama_cpp_with_its_own_greedy_tokens()
    {
        using var scope = NewDisposeScope();
        using var full = Llama2cCheckpoint.Read(SharedAssets.Stories260KPath);
        // Layer 1 loses both sub-layers (left out of the file), layer 3 its attention, layer 4 its MLP (zero weights).
        using var pruned = Derived(full, full.Config with { RemovedAttention = [1, 3], RemovedMlp = [1, 4] });
        var prompt = Tok512.Value.Encode("The little bird", bos: true);
        var expected = CondenseGreedy(pruned, prompt, 120);
        Assert.True(expected.Count > 60, $"only {expected.Count} tokens to compare");
        Assert.NotEqual(CondenseGreedy(full, prompt, 120), expected);
        var path = Export(pruned, GgufDtype.F32, "pruned");
        Assert.Equal(4UL, GgufFile.Read(path).Require("llama.block_count").Value);
        using var cpp = new LlamaCppModel(path, 256);
        Assert.Equal(expected, cpp.Greedy(prompt, 120));
    }

    [Fact]
    public void Elastic_sub_network_runs_in_llama_cpp_padded_to_full_width()
    {
        using var scope = NewDisposeScope();
        using var full = Llama2cCheckpoint.Read(SharedAssets.Stories260KPath);
        using var narrow = Derived(full, full.Config with { LayerHiddenDims = [172, 86, 43, 129, 172], LayerKvHeads = [4, 2, 4, 1, 4] });
        var prompt = Tok512.Value.Encode("Tom had a red", bos: true);
        var expected = CondenseGreedy(narrow, prompt, 120);
        Assert.True(expected.Count > 60, $"only {expected.Count} tokens to compare");
        Assert.NotEqual(CondenseGreedy(full, prompt, 120), expected);
        using var cpp = new LlamaCppModel(Export(narrow, GgufDtype.F32, "elastic"), 256);
        Assert.Equal(expected, cpp.Greedy(prompt, 120));
    }

    [Fact]
    public void Llama_cpp_tokenizes_text_as_condense_does()
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedAssets.Stories260KPath);
        using var cpp = new LlamaCppModel(Export(model, GgufDtype.F32, "stories260K"), 256);
        var texts = File.ReadLines(SharedAssets.ValidTextPath).Where(l => l.Length > 0).Take(40)
            .Append("Tim said, \"Wow!\" — naïve café 123 ⅞ 日本").Append("  two  spaces\tand a tab");
        foreach (var text in texts)
            Assert.Equal(Tok512.Value.Encode(text, bos: true), cpp.Tokenize(text));
    }

    [Fact]
    public void Q8_0_perplexity_in_llama_cpp_is_within_2_percent_of_condense_f32()
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedAssets.Llama2xsPath);
        var docs = File.ReadLines(SharedAssets.ValidTextPath).Where(l => l.Length > 0).Take(60).ToList();
        var (sequences, _) = Perplexity.Tokenize(Tok512.Value, docs, 256);
        var reference = Perplexity.Evaluate(model, sequences);
        var path = Export(model, GgufDtype.Q8_0, "llama2xs");
        Assert.Contains(GgufFile.Read(path).Tensors, t => t.Type == GgmlType.Q8_0);
        using var cpp = new LlamaCppModel(path, 256);
        double ppl = cpp.Perplexity(sequences);
        Assert.InRange(ppl / reference.Perplexity, 0.98, 1.02);
    }
}
