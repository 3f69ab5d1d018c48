// LLaMA decoder-only transformer, "LLaMA: Open and Efficient Foundation Language Models", Touvron et al.,
// arXiv:2302.13971, with grouped-query attention from "GQA", Ainslie et al., arXiv:2305.13245.
// Reference: huggingface/transformers, src/transformers/models/llama/modeling_llama.py (LlamaForCausalLM,
// LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP, LlamaRMSNorm, LlamaRotaryEmbedding, rotate_half,
// apply_rotary_pos_emb, repeat_kv). Module and parameter names follow Hugging Face, so a state dict reads
// `model.embed_tokens.weight`, `model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`, ... exactly as there.
//
// Deviations from Hugging Face's LlamaForCausalLM:
// - RoPE is the plain theta = 10000 variant in HF's rotate-half layout (no rope_scaling); cos/sin are computed
//   for the positions of each call instead of being kept in a non-persistent `inv_freq` buffer, so the state
//   dict holds weights only (HF's `inv_freq` is non-persistent too, so the keys are the same). The angles are
//   computed in float64 and cast to float32; HF (and llama2.c) form them in float32, whose rounding moves cos/sin
//   by up to 9e-6 at position 255 and 1.5e-4 at position 4095 (head dim 48).
// - No attention or MLP biases, no dropout, no KV cache, no attention mask other than the causal one.
// - With tied embeddings there is no `lm_head` module: logits use `model.embed_tokens.weight` directly, which is
//   what HF checkpoints of tied models store (they drop `lm_head.weight`).
// - Weight init is HF's `_init_weights`: normal(std=0.02) for Linear and Embedding weights, ones for RMSNorm.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Models;

/// <summary>Hyper-parameters of a LLaMA decoder (names follow llama2.c's ModelArgs).</summary>
/// <param name="Dim">Model width (HF hidden_size).</param>
/// <param name="HiddenDim">SwiGLU hidden width (HF intermediate_size).</param>
/// <param name="NLayers">Decoder layers.</param>
/// <param name="NHeads">Query heads.</param>
/// <param name="NKvHeads">Key/value heads; NHeads must be a multiple of it (grouped-query attention).</param>
/// <param name="VocabSize">Vocabulary size.</param>
/// <param name="MaxSeqLen">Longest sequence the model accepts.</param>
/// <param name="NormEps">RMSNorm epsilon.</param>
/// <param name="TiedEmbeddings">Share the token embedding with the output projection.</param>
public sealed record LlamaConfig(
    int Dim,
    int HiddenDim,
    int NLayers,
    int NHeads,
    int NKvHeads,
    int VocabSize,
    int MaxSeqLen,
    double NormEps = 1e-5,
    bool TiedEmbeddings = false)
{
    /// <summary>RoPE base frequency.</summary>
    public const double RopeTheta = 10000.0;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => Dim / NHeads;

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (Dim <= 0 || HiddenDim <= 0 || NLayers <= 0 || NHeads <= 0 || NKvHeads <= 0 || VocabSize <= 0
            || MaxSeqLen <= 0 || NormEps <= 0)
            throw new ArgumentException($"LlamaConfig has a non-positive size: {this}");
        if (Dim % NHeads != 0)
            throw new ArgumentException($"Dim {Dim} is not a multiple of NHeads {NHeads}.");
        if (NHeads % NKvHeads != 0)
            throw new ArgumentException($"NHeads {NHeads} is not a multiple of NKvHeads {NKvHeads}.");
        if (HeadDim % 2 != 0)
            throw new ArgumentException($"RoPE needs an even head dimension, got {HeadDim}.");
    }
}

/// <summary>Root-mean-square layer norm, computed in fp32 (HF LlamaRMSNorm).</summary>
public sealed class LlamaRMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public LlamaRMSNorm(int dim, double eps) : base(nameof(LlamaRMSNorm))
    {
        this.eps = eps;
        weight = Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);                                // (B, T, C)
        var variance = h.pow(2).mean([-1L], keepdim: true);                   // (B, T, 1)
        h = h * rsqrt(variance + eps);                                        // (B, T, C)
        return (weight * h.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary position embedding in HF's rotate-half layout (LlamaRotaryEmbedding + apply_rotary_pos_emb).</summary>
public static class Rope
{
    /// <summary>cos and sin for positions [start, start + length), each (length, headDim).</summary>
    public static (Tensor Cos, Tensor Sin) CosSin(long start, long length, int headDim, Device device,
        double theta = LlamaConfig.RopeTheta)
    {
        using var scope = NewDisposeScope();
        var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, float64, device) / headDim); // (hd/2)
        var positions = arange(start, start + length, 1, float64, device);                // (T)
        var freqs = outer(positions, invFreq);                                             // (T, hd/2)
        var emb = cat([freqs, freqs], dim: -1);                                            // (T, hd)
        var cos = emb.cos().to_type(ScalarType.Float32);
        var sin = emb.sin().to_type(ScalarType.Float32);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>x * cos + rotate_half(x) * sin, where x is (B, nh, T, hd) and cos/sin are (T, hd).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                // (B, nh, T, hd/2)
        var x2 = x.narrow(-1, half, half);                             // (B, nh, T, hd/2)
        var rotated = cat([-x2, x1], dim: -1);                         // (B, nh, T, hd)
        return (x * cos.to_type(x.dtype) + rotated * sin.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Causal grouped-query self-attention with RoPE (HF LlamaAttention).</summary>
public sealed class LlamaAttention : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int nHeads;
    private readonly int nKvHeads;
    private readonly int headDim;

    public LlamaAttention(LlamaConfig config) : base(nameof(LlamaAttention))
    {
        nHeads = config.NHeads;
        nKvHeads = config.NKvHeads;
        headDim = config.HeadDim;
        q_proj = Linear(config.Dim, nHeads * headDim, hasBias: false);
        k_proj = Linear(config.Dim, nKvHeads * headDim, hasBias: false);
        v_proj = Linear(config.Dim, nKvHeads * headDim, hasBias: false);
        o_proj = Linear(nHeads * headDim, config.Dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long B = x.shape[0], T = x.shape[1];
        var q = q_proj.call(x).view(B, T, nHeads, headDim).transpose(1, 2);    // (B, nh, T, hd)
        var k = k_proj.call(x).view(B, T, nKvHeads, headDim).transpose(1, 2);  // (B, nkv, T, hd)
        var v = v_proj.call(x).view(B, T, nKvHeads, headDim).transpose(1, 2);  // (B, nkv, T, hd)
        q = Rope.Apply(q, cos, sin);
        k = Rope.Apply(k, cos, sin);
        k = RepeatKv(k, nHeads / nKvHeads);                                     // (B, nh, T, hd)
        v = RepeatKv(v, nHeads / nKvHeads);                                     // (B, nh, T, hd)
        var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true); // (B, nh, T, hd)
        y = y.transpose(1, 2).reshape(B, T, nHeads * headDim);                 // (B, T, C)
        return o_proj.call(y).MoveToOuterDisposeScope();
    }

    /// <summary>(B, nkv, T, hd) to (B, nkv * nRep, T, hd); query head h reads kv head h / nRep (HF repeat_kv).</summary>
    public static Tensor RepeatKv(Tensor kv, int nRep)
    {
        if (nRep == 1) return kv.alias();
        long B = kv.shape[0], nKv = kv.shape[1], T = kv.shape[2], hd = kv.shape[3];
        return kv.unsqueeze(2)                                          // (B, nkv, 1, T, hd)
            .expand(B, nKv, nRep, T, hd)                                // (B, nkv, nRep, T, hd)
            .reshape(B, nKv * nRep, T, hd);                             // (B, nh, T, hd)
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)) (HF LlamaMLP).</summary>
public sealed class LlamaMLP : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public LlamaMLP(LlamaConfig config) : base(nameof(LlamaMLP))
    {
        gate_proj = Linear(config.Dim, config.HiddenDim, hasBias: false);
        up_proj = Linear(config.Dim, config.HiddenDim, hasBias: false);
        down_proj = Linear(config.HiddenDim, config.Dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.silu(gate_proj.call(x)) * up_proj.call(x);  // (B, T, H)
        return down_proj.call(h).MoveToOuterDisposeScope();            // (B, T, C)
    }
}

/// <summary>Pre-norm decoder layer: x + attn(norm(x)), then x + mlp(norm(x)) (HF LlamaDecoderLayer).</summary>
public sealed class LlamaDecoderLayer : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly LlamaAttention self_attn;
    private readonly LlamaMLP mlp;
    private readonly LlamaRMSNorm input_layernorm;
    private readonly LlamaRMSNorm post_attention_layernorm;

    public LlamaDecoderLayer(LlamaConfig config) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(config);
        mlp = new LlamaMLP(config);
        input_layernorm = new LlamaRMSNorm(config.Dim, config.NormEps);
        post_attention_layernorm = new LlamaRMSNorm(config.Dim, config.NormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        x = x + self_attn.call(input_layernorm.call(x), cos, sin);     // (B, T, C)
        x = x + mlp.call(post_attention_layernorm.call(x));            // (B, T, C)
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Embedding, decoder layers and final norm: tokens (B, T) to hidden states (B, T, C) (HF LlamaModel).</summary>
public sealed class LlamaModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly LlamaRMSNorm norm;
    private readonly LlamaConfig config;

    public LlamaModel(LlamaConfig config) : base(nameof(LlamaModel))
    {
        this.config = config;
        embed_tokens = Embedding(config.VocabSize, config.Dim);
        layers = new ModuleList<LlamaDecoderLayer>(
            Enumerable.Range(0, config.NLayers).Select(_ => new LlamaDecoderLayer(config)).ToArray());
        norm = new LlamaRMSNorm(config.Dim, config.NormEps);
        RegisterComponents();
    }

    /// <summary>The token embedding (also the output projection when embeddings are tied).</summary>
    public Embedding EmbedTokens => embed_tokens;

    /// <summary>The decoder layers, in order.</summary>
    public ModuleList<LlamaDecoderLayer> Layers => layers;

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        long T = tokens.shape[1];
        if (T > config.MaxSeqLen)
            throw new ArgumentException($"Sequence length {T} exceeds MaxSeqLen {config.MaxSeqLen}.");
        var x = embed_tokens.call(tokens);                              // (B, T, C)
        var (cos, sin) = Rope.CosSin(0, T, config.HeadDim, x.device);  // (T, hd) each
        foreach (var layer in layers)
            x = layer.call(x, cos, sin);                                // (B, T, C)
        return norm.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>LLaMA language model: tokens (B, T) int64 to next-token logits (B, T, V) (HF LlamaForCausalLM).</summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;

    public LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        model = new LlamaModel(config);
        register_module(nameof(model), model);
        if (!config.TiedEmbeddings)
        {
            lm_head = Linear(config.Dim, config.VocabSize, hasBias: false);
            register_module(nameof(lm_head), lm_head);
        }
        InitWeights();
    }

    /// <summary>The configuration this model was built from.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The decoder body (embedding, layers, final norm).</summary>
    public LlamaModel Model => model;

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var h = model.call(tokens);                                     // (B, T, C)
        var logits = lm_head is null
            ? functional.linear(h, model.EmbedTokens.weight!)           // (B, T, V)
            : lm_head.call(h);                                          // (B, T, V)
        return logits.MoveToOuterDisposeScope();
    }

    private void InitWeights()
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    init.normal_(linear.weight!, std: 0.02);
                    break;
                case Embedding embedding:
                    init.normal_(embedding.weight!, std: 0.02);
                    break;
            }
        }
    }
}
