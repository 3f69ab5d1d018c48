using Condense.Core;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Checkpoints;

public sealed class Llama2cCheckpointTests : IDisposable
{
    private readonly TempFolder _temp = new("llama2c-");

    private string dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Reads_the_stories260K_header()
    {
        var config = Llama2cCheckpoint.ReadConfig(SharedModels.Stories260KPath);
        Assert.Equal((64, 172, 5, 8, 4, 512, 512), (config.Dim, config.HiddenDim, config.NLayers, config.NHeads,
            config.NKvHeads, config.VocabSize, config.MaxSeqLen));
        Assert.True(config.TiedEmbeddings);
        Assert.Equal(RopeLayout.Interleaved, config.RopeLayout);
        var xs = Llama2cCheckpoint.ReadConfig(SharedModels.Llama2xsPath);
        Assert.Equal((192, 256), (xs.HiddenDim, xs.MaxSeqLen));
    }

    [Fact]
    public void Writing_a_read_model_gives_back_the_same_file()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var path = Path.Combine(dir, "copy.bin");
        Llama2cCheckpoint.Write(model, path);
        Assert.Equal(File.ReadAllBytes(SharedModels.Stories260KPath), File.ReadAllBytes(path));
    }

    [Fact]
    public void Untied_classifier_is_stored_at_the_end_and_read_back()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var config = new LlamaConfig(16, 24, 2, 4, 2, 30, 8, TiedEmbeddings: false, RopeLayout: RopeLayout.Interleaved);
        using var model = new LlamaForCausalLM(config);
        var path = Path.Combine(dir, "untied.bin");
        Llama2cCheckpoint.Write(model, path);
        Assert.Equal(-30, BitConverter.ToInt32(File.ReadAllBytes(path), 5 * 4));
        using var back = Llama2cCheckpoint.Read(path);
        Assert.False(back.Config.TiedEmbeddings);
        var original = model.state_dict();
        foreach (var (name, t) in back.state_dict())
            Assert.True(t.equal(original[name]).all().item<bool>(), $"{name} differs");
    }

    [Fact]
    public void Truncated_file_is_rejected_with_both_sizes()
    {
        var bytes = File.ReadAllBytes(SharedModels.Stories260KPath);
        var path = Path.Combine(dir, "truncated.bin");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 4).ToArray());
        var ex = Assert.Throws<InputException>(() => Llama2cCheckpoint.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{bytes.Length - 4} bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"needs {bytes.Length}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_header_and_missing_file_are_input_errors()
    {
        var path = Path.Combine(dir, "garbage.bin");
        File.WriteAllBytes(path, new byte[100]);
        Assert.Contains("not a llama2.c", Assert.Throws<InputException>(() => Llama2cCheckpoint.Read(path)).Message,
            StringComparison.Ordinal);
        Assert.Throws<InputException>(() => Llama2cCheckpoint.Read(Path.Combine(dir, "absent.bin")));
    }

    [Fact]
    public void Rope_layout_conversion_keeps_the_function()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        using var hf = LlamaConversion.ToLayout(model, RopeLayout.RotateHalf);
        using var back = LlamaConversion.ToLayout(hf, RopeLayout.Interleaved);
        using var noGrad = no_grad();
        var tokens = tensor(new long[] { 1, 403, 407, 261, 378, 11, 266 }).view(1, -1);
        var a = model.call(tokens);
        Assert.True(a.allclose(hf.call(tokens), rtol: 0, atol: 1e-4));
        Assert.False(model.state_dict()["model.layers.0.self_attn.q_proj.weight"]
            .equal(hf.state_dict()["model.layers.0.self_attn.q_proj.weight"]).all().item<bool>());
        foreach (var (name, t) in back.state_dict())
            Assert.True(t.equal(model.state_dict()[name]).all().item<bool>(), $"{name} differs after two permutations");
    }
}
