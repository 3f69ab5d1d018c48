using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Models;

public sealed class LlamaTests
{
    private static readonly LlamaConfig Micro = new(Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKvHeads: 4,
        VocabSize: 50, MaxSeqLen: 16);

    /// <summary>llama2.c's stories15M: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, tied embeddings.</summary>
    private static readonly LlamaConfig Stories15M = new(Dim: 288, HiddenDim: 768, NLayers: 6, NHeads: 6,
        NKvHeads: 6, VocabSize: 32000, MaxSeqLen: 256, TiedEmbeddings: true);

    [Fact]
    public void Forward_maps_tokens_to_logits()
    {
        using var scope = NewDisposeScope();
        using var model = new LlamaForCausalLM(Micro);
        var logits = model.call(randint(0, 50, [3, 10], dtype: int64));
        Assert.Equal(new long[] { 3, 10, 50 }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void Parameter_counts_match_the_architecture()
    {
        using var scope = NewDisposeScope();
        using var tied = new LlamaForCausalLM(Stories15M);
        Assert.Equal(15_191_712, tied.parameters().Sum(p => p.numel()));
        using var untied = new LlamaForCausalLM(Stories15M with { TiedEmbeddings = false });
        Assert.Equal(15_191_712 + 32000 * 288, untied.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void State_dict_uses_hugging_face_names()
    {
        using var scope = NewDisposeScope();
        using var model = new LlamaForCausalLM(Micro with { NKvHeads = 2 });
        var sd = model.state_dict();
        Assert.Equal(new long[] { 50, 32 }, sd["model.embed_tokens.weight"].shape);
        Assert.Equal(new long[] { 32 }, sd["model.layers.0.input_layernorm.weight"].shape);
        Assert.Equal(new long[] { 32, 32 }, sd["model.layers.0.self_attn.q_proj.weight"].shape);
        Assert.Equal(new long[] { 16, 32 }, sd["model.layers.0.self_attn.k_proj.weight"].shape);
        Assert.Equal(new long[] { 16, 32 }, sd["model.layers.1.self_attn.v_proj.weight"].shape);
        Assert.Equal(new long[] { 32, 32 }, sd["model.layers.1.self_attn.o_proj.weight"].shape);
        Assert.Equal(new long[] { 32 }, sd["model.layers.1.post_attention_layernorm.weight"].shape);
        Assert.Equal(new long[] { 64, 32 }, sd["model.layers.1.mlp.gate_proj.weight"].shape);
        Assert.Equal(new long[] { 64, 32 }, sd["model.layers.1.mlp.up_proj.weight"].shape);
        Assert.Equal(new long[] { 32, 64 }, sd["model.layers.1.mlp.down_proj.weight"].shape);
        Assert.Equal(new long[] { 32 }, sd["model.norm.weight"].shape);
        Assert.Equal(new long[] { 50, 32 }, sd["lm_head.weight"].shape);
        Assert.Equal(1 + 2 * 9 + 1 + 1, sd.Count);
    }

    [Fact]
    public void Tied_embeddings_have_no_lm_head_and_share_the_embedding()
    {
        using var scope = NewDisposeScope();
        using var model = new LlamaForCausalLM(Micro with { TiedEmbeddings = true });
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        var tokens = randint(0, 50, [1, 4], dtype: int64);
        var logits = model.call(tokens);
        nn.functional.cross_entropy(logits.view(-1, 50), tokens.view(-1)).backward();
        var grad = model.Model.EmbedTokens.weight!.grad;
        Assert.NotNull(grad);
        // Rows of tokens that never occur get a gradient only through the output projection.
        Assert.True(grad!.abs().sum(1).gt(0).all().item<bool>());
    }

    [Fact]
    public void One_backward_reaches_every_parameter()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new LlamaForCausalLM(Micro with { NKvHeads = 2 });
        var tokens = randint(0, 50, [2, 12], dtype: int64);
        var logits = model.call(tokens);
        var loss = nn.functional.cross_entropy(
            logits.narrow(1, 0, 11).reshape(-1, 50), tokens.narrow(1, 1, 11).reshape(-1));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            var grad = p.grad;
            Assert.True(grad is not null, $"{name} has no gradient");
            Assert.True(grad!.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient");
        }
    }

    [Fact]
    public void Changing_a_later_token_leaves_earlier_logits_unchanged()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new LlamaForCausalLM(Micro with { NKvHeads = 2 });
        model.eval();
        using var noGrad = no_grad();
        var tokens = randint(0, 50, [1, 12], dtype: int64);
        var changed = tokens.clone();
        const int t = 6;
        changed[0, t + 1] = (tokens[0, t + 1] + 1) % 50;
        var a = model.call(tokens);
        var b = model.call(changed);
        Assert.True(a.narrow(1, 0, t + 1).allclose(b.narrow(1, 0, t + 1), rtol: 0, atol: 1e-6));
        Assert.False(a.narrow(1, t + 1, 1).allclose(b.narrow(1, t + 1, 1), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Grouped_query_attention_equals_multi_head_attention_with_repeated_kv_heads()
    {
        using var scope = NewDisposeScope();
        var gqaConfig = Micro with { NHeads = 4, NKvHeads = 2 };
        manual_seed(7);
        using var gqa = new LlamaForCausalLM(gqaConfig);
        using var mha = new LlamaForCausalLM(gqaConfig with { NKvHeads = 4 });
        gqa.eval();
        mha.eval();
        using var noGrad = no_grad();
        int headDim = gqaConfig.HeadDim;
        var expanded = new Dictionary<string, Tensor>();
        foreach (var (name, t) in gqa.state_dict())
        {
            bool isKv = name.EndsWith("k_proj.weight", StringComparison.Ordinal)
                || name.EndsWith("v_proj.weight", StringComparison.Ordinal);
            // (nkv * hd, C) -> (nkv, hd, C) -> each kv head twice -> (nh * hd, C)
            expanded[name] = isKv
                ? t.view(2, headDim, -1).repeat_interleave(2, dim: 0).reshape(4 * headDim, -1)
                : t;
        }
        mha.load_state_dict(expanded);
        var tokens = randint(0, 50, [2, 9], dtype: int64);
        Assert.True(gqa.call(tokens).allclose(mha.call(tokens), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Same_seed_gives_same_weights_and_outputs()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var a = new LlamaForCausalLM(Micro);
        manual_seed(11);
        using var b = new LlamaForCausalLM(Micro);
        var sdA = a.state_dict();
        foreach (var (name, t) in b.state_dict())
            Assert.True(t.allclose(sdA[name], rtol: 0, atol: 0), $"{name} differs");
        var tokens = randint(0, 50, [2, 8], dtype: int64);
        Assert.True(a.call(tokens).allclose(b.call(tokens), rtol: 0, atol: 0));
    }

    [Fact]
    public void Rope_matches_the_rotate_half_formula_at_one_position()
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = Rope.CosSin(0, 3, 4, CPU);
        // inv_freq = [1, 1/100] for head dim 4; position 2 -> angles [2, 0.02, 2, 0.02].
        var expectedCos = tensor(new[] { MathF.Cos(2), MathF.Cos(0.02f), MathF.Cos(2), MathF.Cos(0.02f) });
        Assert.True(cos[2].allclose(expectedCos, atol: 1e-6));
        var x = tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 1, 4).expand(1, 1, 3, 4);
        var y = Rope.Apply(x, cos, sin)[0, 0, 2];
        // rotate_half([1, 2, 3, 4]) = [-3, -4, 1, 2]
        var expected = tensor(new float[] { 1, 2, 3, 4 }) * expectedCos
            + tensor(new float[] { -3, -4, 1, 2 }) * tensor(new[] { MathF.Sin(2), MathF.Sin(0.02f), MathF.Sin(2), MathF.Sin(0.02f) });
        Assert.True(y.allclose(expected, atol: 1e-5));
    }

    [Fact]
    public void Init_uses_hugging_faces_scales()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var model = new LlamaForCausalLM(Stories15M with { TiedEmbeddings = false });
        var sd = model.state_dict();
        Assert.InRange(sd["model.embed_tokens.weight"].std().item<float>(), 0.0195f, 0.0205f);
        Assert.InRange(sd["model.layers.0.mlp.gate_proj.weight"].std().item<float>(), 0.0195f, 0.0205f);
        Assert.InRange(sd["lm_head.weight"].std().item<float>(), 0.0195f, 0.0205f);
        Assert.Equal(1f, sd["model.norm.weight"].min().item<float>());
    }

    [Fact]
    public void Config_rejects_sizes_that_do_not_fit()
    {
        Assert.Throws<ArgumentException>(() => (Micro with { NKvHeads = 3 }).Validate());
        Assert.Throws<ArgumentException>(() => (Micro with { Dim = 30 }).Validate());
    }

    [Fact]
    public void Layers_called_one_by_one_with_public_rope_give_the_model_output()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var config = Micro with { NKvHeads = 2, RopeLayout = RopeLayout.Interleaved };
        using var model = new LlamaForCausalLM(config);
        using var noGrad = no_grad();
        var tokens = randint(0, 50, [2, 9], dtype: int64);
        // What layer-wise calibration does: embed, run each layer with the config's RoPE, norm, project.
        var (cos, sin) = Rope.CosSin(config, 0, 9, CPU);
        var x = model.Model.EmbedTokens.call(tokens);
        foreach (var layer in model.Model.Layers) x = layer.call(x, cos, sin);
        var logits = model.Logits(model.Model.Norm.call(x));
        Assert.True(logits.allclose(model.call(tokens), rtol: 0, atol: 1e-6));
    }
}
