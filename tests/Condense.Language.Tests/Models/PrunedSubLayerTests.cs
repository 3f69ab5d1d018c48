using Condense.Core;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Models;

public sealed class PrunedSubLayerTests
{
    private static readonly LlamaConfig Full = new(Dim: 32, HiddenDim: 48, NLayers: 3, NHeads: 4, NKvHeads: 2,
        VocabSize: 50, MaxSeqLen: 16);

    private static readonly LlamaConfig Pruned = Full with { RemovedAttention = [1], RemovedMlp = [0, 2] };

    [Fact]
    public void Removed_blocks_have_no_parameters_and_no_kv_cache()
    {
        using var scope = NewDisposeScope();
        using var model = new LlamaForCausalLM(Pruned);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.DoesNotContain("model.layers.1.self_attn.q_proj.weight", keys);
        Assert.DoesNotContain("model.layers.1.input_layernorm.weight", keys);
        Assert.Contains("model.layers.1.mlp.gate_proj.weight", keys);
        Assert.DoesNotContain("model.layers.0.mlp.up_proj.weight", keys);
        Assert.DoesNotContain("model.layers.2.post_attention_layernorm.weight", keys);
        Assert.Null(model.Model.Layers[1].SelfAttn);
        Assert.Null(model.Model.Layers[2].Mlp);
        using var cache = model.NewCache(1);
        Assert.Equal(2, cache.AllocatedLayers);
        Assert.Null(cache.Layer(1));
    }

    [Fact]
    public void A_removed_block_passes_the_residual_through()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        using var full = new LlamaForCausalLM(Full);
        using var pruned = new LlamaForCausalLM(Pruned);
        // Zeroing a block's output projection makes it add nothing, which is what removal means.
        var sd = full.state_dict();
        using (no_grad())
        {
            sd["model.layers.1.self_attn.o_proj.weight"].zero_();
            sd["model.layers.0.mlp.down_proj.weight"].zero_();
            sd["model.layers.2.mlp.down_proj.weight"].zero_();
        }
        pruned.load_state_dict(sd.Where(kv => pruned.state_dict().ContainsKey(kv.Key)).ToDictionary(), strict: true);
        using var noGrad = no_grad();
        var tokens = randint(0, 50, [2, 12], dtype: int64);
        Assert.True(full.call(tokens).allclose(pruned.call(tokens), rtol: 0, atol: 1e-6));

        // The cached path skips the missing attention too.
        using var cache = pruned.NewCache(2);
        var stepwise = cat([pruned.Forward(tokens.narrow(1, 0, 5), cache), pruned.Forward(tokens.narrow(1, 5, 7), cache)], dim: 1);
        Assert.True(stepwise.allclose(pruned.call(tokens), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Removed_blocks_survive_the_hf_format_but_not_llama2c()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("pruned-").FullName;
        try
        {
            manual_seed(10);
            using var model = new LlamaForCausalLM(Pruned with { RopeLayout = RopeLayout.Interleaved });
            HfLlamaCheckpoint.Write(model, dir);
            Assert.Contains("\"condense_removed_attention\"", File.ReadAllText(Path.Combine(dir, "config.json")), StringComparison.Ordinal);
            using var back = LlamaCheckpoint.Load(dir);
            Assert.Equal([1], back.Config.RemovedAttention!);
            Assert.Equal([0, 2], back.Config.RemovedMlp!);
            using var noGrad = no_grad();
            var tokens = randint(0, 50, [1, 10], dtype: int64);
            Assert.True(model.call(tokens).allclose(back.call(tokens), rtol: 0, atol: 1e-5));
            var ex = Assert.Throws<InputException>(() => Llama2cCheckpoint.Write(model, Path.Combine(dir, "m.bin")));
            Assert.Contains("pruned", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Config_rejects_layers_out_of_range_or_twice()
    {
        Assert.Throws<ArgumentException>(() => (Full with { RemovedAttention = [3] }).Validate());
        Assert.Throws<ArgumentException>(() => (Full with { RemovedMlp = [1, 1] }).Validate());
    }
}
