// LLaMA decoder-only transformer, "LLaMA: Open and Efficient Foundation Language Models", Touvron et al.,
// arXiv:2302.13971, with grouped-query attention from "GQA", Ainslie et al., arXiv:2305.13245.
// Reference: huggingface/transformers, src/transformers/models/llama/modeling_llama.py (LlamaForCausalLM,
// LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP, LlamaRMSNorm, LlamaRotaryEmbedding, rotate_half,
// apply_rotary_pos_emb, repeat_kv). Module and parameter names follow Hugging Face, so a state dict reads
// `model.embed_tokens.weight`, `model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`, ... exactly as there.
//
// Deviations from Hugging Face's LlamaForCausalLM:
// - RoPE is the plain theta = 10000 variant (no rope_scaling), in HF's rotate-half layout or, with
//   RopeLayout.Interleaved, in llama2.c's layout (pairs 2i, 2i+1 rotated together), so llama2.c checkpoints run
//   with their q/k rows as stored; LlamaConversion permutes the rows between the two. cos/sin are computed
//   for the positions of each call instead of being kept in a non-persistent `inv_freq` buffer, so the state
//   dict holds weights only (HF's `inv_freq` is non-persistent too, so the keys are the same). The angles are
//   computed in float64 and cast to float32; HF (and llama2.c) form them in float32, whose rounding moves cos/sin
//   by up to 9e-6 at position 255 and 1.5e-4 at position 4095 (head dim 48).
// - No attention or MLP biases, no dropout, no attention mask other than the causal one (padding goes at the
//   end of a row, where causality keeps it from reaching earlier positions). The KV cache is preallocated per
//   layer for the whole sequence length (llama2.c's layout) instead of HF's growing DynamicCache.
// - Pruned sub-layers: LlamaConfig.RemovedAttention / RemovedMlp list layers whose attention or MLP block (with
//   its norm) was removed; such a block passes the residual through and has no parameters and no KV cache.
//   HF has no such option; it is written to config.json as extra fields.
// - Per-layer widths (Flextron sub-networks): LlamaConfig.LayerHiddenDims / LayerKvHeads give a layer fewer MLP
//   neurons or fewer KV heads (each with its NHeads / NKvHeads query heads; the head width stays Dim / NHeads), and
//   LayerQueryHeads fewer query heads per KV head (the same number for every KV head of the layer).
//   HF's LlamaConfig has one width for all layers; these are written to config.json as extra fields.
// - With tied embeddings there is no `lm_head` module: logits use `model.embed_tokens.weight` directly, which is
//   what HF checkpoints of tied models store (they drop `lm_head.weight`).
// - Weight init is HF's `_init_weights`: normal(std=0.02) for Linear and Embedding weights, ones for RMSNorm.
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
/// <param name="RopeLayout">Which dimensions RoPE rotates together; it must match how q/k rows are stored.</param>
/// <param name="RemovedAttention">Layers whose attention block (and input_layernorm) was pruned away.</param>
/// <param name="RemovedMlp">Layers whose MLP block (and post_attention_layernorm) was pruned away.</param>
/// <param name="LayerHiddenDims">Per layer, the MLP width when it differs from <see cref="HiddenDim"/> (null: all HiddenDim).</param>
/// <param name="LayerKvHeads">Per layer, the KV heads kept (each with its query heads; null: all NKvHeads).</param>
/// <param name="LayerQueryHeads">Per layer, the query heads kept, a multiple of that layer's KV heads (null: each KV head with all NHeads / NKvHeads of its query heads).</param>
public sealed record LlamaConfig(
    int Dim,
    int HiddenDim,
    int NLayers,
    int NHeads,
    int NKvHeads,
    int VocabSize,
    int MaxSeqLen,
    double NormEps = 1e-5,
    bool TiedEmbeddings = false,
    RopeLayout RopeLayout = RopeLayout.RotateHalf,
    IReadOnlyList<int>? RemovedAttention = null,
    IReadOnlyList<int>? RemovedMlp = null,
    IReadOnlyList<int>? LayerHiddenDims = null,
    IReadOnlyList<int>? LayerKvHeads = null,
    IReadOnlyList<int>? LayerQueryHeads = null)
{
    /// <summary>RoPE base frequency.</summary>
    public const double RopeTheta = 10000.0;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => NHeads > 0 ? Dim / NHeads : 0;

    /// <summary>Whether layer <paramref name="layer"/> still has its attention block.</summary>
    public bool HasAttention(int layer) => RemovedAttention is null || !RemovedAttention.Contains(layer);

    /// <summary>Whether layer <paramref name="layer"/> still has its MLP block.</summary>
    public bool HasMlp(int layer) => RemovedMlp is null || !RemovedMlp.Contains(layer);

    /// <summary>MLP neurons of layer <paramref name="layer"/>.</summary>
    public int MlpWidth(int layer) => LayerHiddenDims?[layer] ?? HiddenDim;

    /// <summary>KV heads of layer <paramref name="layer"/>.</summary>
    public int KvHeads(int layer) => LayerKvHeads?[layer] ?? NKvHeads;

    /// <summary>Query heads of layer <paramref name="layer"/> (unless LayerQueryHeads says otherwise, its KV heads times NHeads / NKvHeads).</summary>
    public int QueryHeads(int layer) => LayerQueryHeads?[layer] ?? (NKvHeads > 0 ? KvHeads(layer) * (NHeads / NKvHeads) : NHeads);

    /// <summary>Whether some layer is narrower than the model's HiddenDim, NKvHeads or query heads per KV head.</summary>
    public bool HasLayerWidths => Enumerable.Range(0, NLayers).Any(i =>
        MlpWidth(i) != HiddenDim || KvHeads(i) != NKvHeads || (NKvHeads > 0 && QueryHeads(i) != KvHeads(i) * (NHeads / NKvHeads)));

    /// <summary>The same sizes with every layer at the model's full width (no per-layer widths).</summary>
    public LlamaConfig WithoutLayerWidths() => this with { LayerHiddenDims = null, LayerKvHeads = null, LayerQueryHeads = null };

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (Dim <= 0 || HiddenDim <= 0 || NLayers <= 0 || NHeads <= 0 || NKvHeads <= 0 || VocabSize <= 0
            || MaxSeqLen <= 0 || NormEps <= 0)
            throw new ArgumentException($"a size is not positive: Dim {Dim}, HiddenDim {HiddenDim}, NLayers {NLayers}, NHeads {NHeads}, " +
                $"NKvHeads {NKvHeads}, VocabSize {VocabSize}, MaxSeqLen {MaxSeqLen}, NormEps {NormEps}");
        if (Dim % NHeads != 0)
            throw new ArgumentException($"Dim {Dim} is not a multiple of NHeads {NHeads}.");
        if (NHeads % NKvHeads != 0)
            throw new ArgumentException($"NHeads {NHeads} is not a multiple of NKvHeads {NKvHeads}.");
        if (HeadDim % 2 != 0)
            throw new ArgumentException($"RoPE needs an even head dimension, got {HeadDim}.");
        foreach (var (name, value, limit) in new[]
        {
            ("Dim", Dim, MaxWidth), ("HiddenDim", HiddenDim, MaxWidth), ("NLayers", NLayers, MaxLayersOrHeads),
            ("NHeads", NHeads, MaxLayersOrHeads), ("VocabSize", VocabSize, MaxVocab), ("MaxSeqLen", MaxSeqLen, MaxPositions),
        })
        {
            if (value > limit)
                throw new ArgumentException($"{name} {value} is implausibly large (the limit is {limit}).");
        }
        if (ParameterCount() > MaxParameters)
            throw new ArgumentException($"the sizes describe {ParameterCount():N0} parameters, more than the limit of {MaxParameters:N0}.");
        foreach (var (name, list) in new[] { ("RemovedAttention", RemovedAttention), ("RemovedMlp", RemovedMlp) })
        {
            if (list is null) continue;
            foreach (var i in list)
            {
                if (i < 0 || i >= NLayers)
                    throw new ArgumentException($"{name} holds layer {i}, outside 0..{NLayers - 1}.");
            }
            if (list.Distinct().Count() != list.Count)
                throw new ArgumentException($"{name} lists a layer twice: [{string.Join(", ", list)}].");
        }
        foreach (var (name, list, max) in new[] { ("LayerHiddenDims", LayerHiddenDims, HiddenDim), ("LayerKvHeads", LayerKvHeads, NKvHeads) })
        {
            if (list is null) continue;
            if (list.Count != NLayers)
                throw new ArgumentException($"{name} has {list.Count} entries for {NLayers} layers.");
            for (int i = 0; i < list.Count; i++)
            {
                if (list[i] < 1 || list[i] > max)
                    throw new ArgumentException($"{name} gives layer {i} a width of {list[i]}, outside 1..{max}.");
            }
        }
        if (LayerQueryHeads is not null)
        {
            if (LayerQueryHeads.Count != NLayers)
                throw new ArgumentException($"LayerQueryHeads has {LayerQueryHeads.Count} entries for {NLayers} layers.");
            for (int i = 0; i < NLayers; i++)
            {
                int q = LayerQueryHeads[i], kv = KvHeads(i), perKv = NHeads / NKvHeads;
                if (q < kv || q > kv * perKv || q % kv != 0)
                    throw new ArgumentException($"LayerQueryHeads gives layer {i} {q} query heads; with {kv} KV heads it needs a multiple of {kv} in {kv}..{kv * perKv}.");
            }
        }
    }

    /// <summary>Largest <see cref="Dim"/> or <see cref="HiddenDim"/> accepted (sizes from a file are bounded before any allocation).</summary>
    public const int MaxWidth = 1 << 18;

    /// <summary>Largest <see cref="NLayers"/> or <see cref="NHeads"/> accepted.</summary>
    public const int MaxLayersOrHeads = 1 << 12;

    /// <summary>Largest <see cref="VocabSize"/> accepted.</summary>
    public const int MaxVocab = 1 << 22;

    /// <summary>Largest <see cref="MaxSeqLen"/> accepted (the RoPE table and KV cache grow only as long as needed).</summary>
    public const int MaxPositions = 1 << 24;

    /// <summary>Most parameters accepted (a trillion: far beyond a CPU's memory, so a larger claim is a corrupt file).</summary>
    public const long MaxParameters = 1L << 40;

    /// <summary>
    /// Parameters of the model these sizes describe (pruned sub-layers excluded), in 64-bit arithmetic; sizes within
    /// the limits above cannot overflow it.
    /// </summary>
    public long ParameterCount()
    {
        long d = Dim, hd = HeadDim;
        long total = (TiedEmbeddings ? 1 : 2) * (long)VocabSize * d + d;
        for (int i = 0; i < NLayers; i++)
        {
            long q = (long)QueryHeads(i) * hd, kv = (long)KvHeads(i) * hd;
            total += (HasAttention(i) ? 2 * q * d + 2 * kv * d + d : 0) + (HasMlp(i) ? 3 * d * MlpWidth(i) + d : 0);
        }
        return total;
    }

    /// <summary>
    /// <paramref name="message"/> (from <see cref="Validate"/>) with each size's name replaced by a file format's
    /// name for it (e.g. MaxSeqLen → max_position_embeddings), so an error names what the user can see.
    /// </summary>
    public static string InFieldNames(string message, IReadOnlyDictionary<string, string> names) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\b[A-Z][A-Za-z]*\b",
            m => names.TryGetValue(m.Value, out var name) ? name : m.Value);

    /// <summary>Stable text for RemovedAttention/RemovedMlp (records compare lists by reference).</summary>
    public string PrunedSummary() =>
        $"attention [{string.Join(", ", RemovedAttention ?? [])}], mlp [{string.Join(", ", RemovedMlp ?? [])}]" +
        (HasLayerWidths
            ? $", mlp widths [{string.Join(", ", Enumerable.Range(0, NLayers).Select(MlpWidth))}], kv heads [{string.Join(", ", Enumerable.Range(0, NLayers).Select(KvHeads))}], query heads [{string.Join(", ", Enumerable.Range(0, NLayers).Select(QueryHeads))}]"
            : "");
}

/// <summary>Root-mean-square layer norm, computed in fp32 (HF LlamaRMSNorm).</summary>
public sealed class LlamaRMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    /// <summary>A norm over <paramref name="dim"/> channels with scale 1 and <paramref name="eps"/> added to the mean square.</summary>
    public LlamaRMSNorm(int dim, double eps) : base(nameof(LlamaRMSNorm))
    {
        this.eps = eps;
        weight = Parameter(ones(dim));
        RegisterComponents();
    }

    /// <summary>The per-channel scale.</summary>
    public Parameter Weight => weight;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);                                // (B, T, C)
        var variance = h.pow(2).mean([-1L], keepdim: true);                   // (B, T, 1)
        h = h * rsqrt(variance + eps);                                        // (B, T, C)
        return (weight * h.to_type(x.dtype)).MoveToOuterDisposeScope();
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
    private readonly RopeLayout layout;

    /// <summary>Attention of layer <paramref name="layerIndex"/> with the head counts, sizes and RoPE layout of <paramref name="config"/>, without biases.</summary>
    public LlamaAttention(LlamaConfig config, int layerIndex = 0) : base(nameof(LlamaAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        nHeads = config.QueryHeads(layerIndex);
        nKvHeads = config.KvHeads(layerIndex);
        headDim = config.HeadDim;
        layout = config.RopeLayout;
        q_proj = Linear(config.Dim, nHeads * headDim, hasBias: false);   // nh·hd may be less than Dim in a narrow layer
        k_proj = Linear(config.Dim, nKvHeads * headDim, hasBias: false);
        v_proj = Linear(config.Dim, nKvHeads * headDim, hasBias: false);
        o_proj = Linear(nHeads * headDim, config.Dim, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The query projection (C to nh * hd).</summary>
    public Linear QProj => q_proj;
    /// <summary>The key projection (C to nkv * hd).</summary>
    public Linear KProj => k_proj;
    /// <summary>The value projection (C to nkv * hd).</summary>
    public Linear VProj => v_proj;
    /// <summary>The output projection (nh * hd to C).</summary>
    public Linear OProj => o_proj;

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, cos, sin, null);

    /// <summary>
    /// Attention of x (B, T, C) at positions cache.Length .. +T (0 without a cache); cos/sin are (T, hd) for
    /// those positions. With a cache, this call's keys/values are appended and attention reads all cached ones.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        long B = x.shape[0], T = x.shape[1];
        var q = q_proj.call(x).view(B, T, nHeads, headDim).transpose(1, 2);    // (B, nh, T, hd)
        var k = k_proj.call(x).view(B, T, nKvHeads, headDim).transpose(1, 2);  // (B, nkv, T, hd)
        var v = v_proj.call(x).view(B, T, nKvHeads, headDim).transpose(1, 2);  // (B, nkv, T, hd)
        q = Rope.Apply(q, cos, sin, layout);
        k = Rope.Apply(k, cos, sin, layout);
        long past = 0;
        if (cache is not null)
        {
            past = cache.Length;
            (k, v) = cache.Append(k, v);                                        // (B, nkv, past + T, hd)
        }
        int nRep = nHeads / nKvHeads;
        Tensor y;
        if (past > 0 && T == 1)
        {
            // One new token sees every cached position: its nRep query heads per kv head attend as nRep rows
            // against that kv head, so the cache is read in place instead of being repeated per query head.
            var grouped = q.view(B, nKvHeads, nRep, headDim);                         // (B, nkv, nRep, hd)
            y = functional.scaled_dot_product_attention(grouped, k, v).view(B, nHeads, 1, headDim);
        }
        else if (past == 0)
            y = functional.scaled_dot_product_attention(q, RepeatKv(k, nRep), RepeatKv(v, nRep), is_casual: true); // (B, nh, T, hd)
        else
        {
            k = RepeatKv(k, nRep);                                              // (B, nh, S, hd)
            v = RepeatKv(v, nRep);                                              // (B, nh, S, hd)
            // SDPA's is_causal aligns the mask top-left when T < S; query i sits at position past + i.
            var allowed = ones(T, past + T, ScalarType.Bool, x.device).tril(past);  // (T, S)
            y = functional.scaled_dot_product_attention(q, k, v, allowed);
        }
        y = y.transpose(1, 2).reshape(B, T, nHeads * headDim);                 // (B, T, nh·hd)
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

    /// <summary>The MLP of layer <paramref name="layerIndex"/> of <paramref name="config"/> (its width and hidden size), without biases.</summary>
    public LlamaMLP(LlamaConfig config, int layerIndex = 0) : base(nameof(LlamaMLP))
    {
        ArgumentNullException.ThrowIfNull(config);
        int hidden = config.MlpWidth(layerIndex);
        gate_proj = Linear(config.Dim, hidden, hasBias: false);
        up_proj = Linear(config.Dim, hidden, hasBias: false);
        down_proj = Linear(hidden, config.Dim, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The gate projection (C to H), passed through SiLU.</summary>
    public Linear GateProj => gate_proj;
    /// <summary>The up projection (C to H).</summary>
    public Linear UpProj => up_proj;
    /// <summary>The down projection (H to C).</summary>
    public Linear DownProj => down_proj;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.silu(gate_proj.call(x)) * up_proj.call(x);  // (B, T, H)
        return down_proj.call(h).MoveToOuterDisposeScope();            // (B, T, C)
    }
}

/// <summary>
/// Pre-norm decoder layer: x + attn(norm(x)), then x + mlp(norm(x)) (HF LlamaDecoderLayer). A pruned block
/// (see <see cref="LlamaConfig.RemovedAttention"/>) is absent: its accessors return null and x passes through.
/// </summary>
public sealed class LlamaDecoderLayer : Module<Tensor, Tensor, Tensor, Tensor>
{
    // Null fields are skipped by RegisterComponents, so a pruned block leaves no state-dict keys.
    private readonly LlamaAttention? self_attn;
    private readonly LlamaMLP? mlp;
    private readonly LlamaRMSNorm? input_layernorm;
    private readonly LlamaRMSNorm? post_attention_layernorm;

    /// <summary>Layer <paramref name="layerIndex"/> of <paramref name="config"/>, without the sub-layers the config lists as pruned.</summary>
    public LlamaDecoderLayer(LlamaConfig config, int layerIndex = 0) : base(nameof(LlamaDecoderLayer))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.HasAttention(layerIndex))
        {
            self_attn = new LlamaAttention(config, layerIndex);
            input_layernorm = new LlamaRMSNorm(config.Dim, config.NormEps);
        }
        if (config.HasMlp(layerIndex))
        {
            mlp = new LlamaMLP(config, layerIndex);
            post_attention_layernorm = new LlamaRMSNorm(config.Dim, config.NormEps);
        }
        RegisterComponents();
    }

    /// <summary>The norm before attention, or null when attention is pruned.</summary>
    public LlamaRMSNorm? InputLayerNorm => input_layernorm;
    /// <summary>The self-attention sub-layer, or null when pruned.</summary>
    public LlamaAttention? SelfAttn => self_attn;
    /// <summary>The norm before the MLP, or null when the MLP is pruned.</summary>
    public LlamaRMSNorm? PostAttentionLayerNorm => post_attention_layernorm;
    /// <summary>The MLP sub-layer, or null when pruned.</summary>
    public LlamaMLP? Mlp => mlp;

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, cos, sin, null);

    /// <summary>One layer over x (B, T, C); <paramref name="cache"/> is this layer's KV cache or null.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        if (self_attn is not null)
            x = x + self_attn.Forward(input_layernorm!.call(x), cos, sin, cache);  // (B, T, C)
        if (mlp is not null)
            x = x + mlp.call(post_attention_layernorm!.call(x));                 // (B, T, C)
        return x.alias().MoveToOuterDisposeScope();
    }
}

/// <summary>Embedding, decoder layers and final norm: tokens (B, T) to hidden states (B, T, C) (HF LlamaModel).</summary>
public sealed class LlamaModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly LlamaRMSNorm norm;
    private readonly LlamaConfig config;

    /// <summary>The body of a model of <paramref name="config"/>.</summary>
    public LlamaModel(LlamaConfig config) : base(nameof(LlamaModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        this.config = config;
        embed_tokens = Embedding(config.VocabSize, config.Dim);
        layers = new ModuleList<LlamaDecoderLayer>(
            Enumerable.Range(0, config.NLayers).Select(i => new LlamaDecoderLayer(config, i)).ToArray());
        norm = new LlamaRMSNorm(config.Dim, config.NormEps);
        RegisterComponents();
    }

    /// <summary>The token embedding (also the output projection when embeddings are tied).</summary>
    public Embedding EmbedTokens => embed_tokens;

    /// <summary>The decoder layers, in order.</summary>
    public ModuleList<LlamaDecoderLayer> Layers => layers;

    /// <summary>The final RMSNorm.</summary>
    public LlamaRMSNorm Norm => norm;

    // cos/sin for the first positions, made once per device and grown by doubling (up to MaxSeqLen) when a longer
    // sequence comes: per-call recomputation was a large share of a one-token decode step, and a table for all
    // MaxSeqLen positions up front is unbounded (a config may claim 2^28 positions). Each position's row does not
    // depend on the table's length. Plain fields, not buffers, so the state dict holds weights only.
    private (Tensor Cos, Tensor Sin)? ropeTable;

    private (Tensor Cos, Tensor Sin) RopeTable(Device device, long needed)
    {
        if (ropeTable is { } table && table.Cos.device == device && table.Cos.shape[0] >= needed) return table;
        long length = Math.Min(config.MaxSeqLen, Math.Max(Math.Max(needed, 256), 2 * (ropeTable?.Cos.shape[0] ?? 0)));
        ropeTable?.Cos.Dispose();
        ropeTable?.Sin.Dispose();
        var (cos, sin) = Rope.CosSin(0, length, config.HeadDim, device, config.RopeLayout);
        cos.DetachFromDisposeScope();
        sin.DetachFromDisposeScope();
        ropeTable = (cos, sin);
        return (cos, sin);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && ropeTable is { } table)
        {
            table.Cos.Dispose();
            table.Sin.Dispose();
            ropeTable = null;
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>
    /// Hidden states (B, T, C) of tokens (B, T) at positions cache.Length .. +T (0 .. T without a cache);
    /// with a cache, the tokens' keys and values are appended to it.
    /// </summary>
    public Tensor Forward(Tensor tokens, LlamaKvCache? cache)
    {
        using var scope = NewDisposeScope();
        return ForwardEmbeddings(embed_tokens.call(tokens), cache).MoveToOuterDisposeScope();   // (B, T, C)
    }

    /// <summary>
    /// Hidden states (B, T, C) of input embeddings <paramref name="x"/> (B, T, C) (token embeddings, or other vectors
    /// in their place, such as a VLM's image tokens) at positions cache.Length .. +T.
    /// </summary>
    public Tensor ForwardEmbeddings(Tensor x, LlamaKvCache? cache)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[1];
        long start = cache?.Length ?? 0;
        if (start + T > config.MaxSeqLen)
            throw new ArgumentException($"Sequence length {start + T} exceeds MaxSeqLen {config.MaxSeqLen}.");
        var (cosAll, sinAll) = RopeTable(x.device, start + T);           // (S, hd) each
        var cos = cosAll.narrow(0, start, T);                           // (T, hd)
        var sin = sinAll.narrow(0, start, T);                           // (T, hd)
        for (int i = 0; i < layers.Count; i++)
            x = layers[i].Forward(x, cos, sin, cache?.Layer(i));        // (B, T, C)
        cache?.Advance(T);
        return norm.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>LLaMA language model: tokens (B, T) int64 to next-token logits (B, T, V) (HF LlamaForCausalLM).</summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;

    /// <summary>A model of <paramref name="config"/> (validated) with freshly initialised weights.</summary>
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

    /// <summary>The output projection's weight (V, C): lm_head's, or the embedding's when tied.</summary>
    public Tensor OutputWeight => lm_head?.weight ?? model.EmbedTokens.weight!;

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>Logits (B, T, V) of tokens (B, T), appending to <paramref name="cache"/> when given.</summary>
    public Tensor Forward(Tensor tokens, LlamaKvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = model.Forward(tokens, cache);                           // (B, T, C)
        return Logits(h).MoveToOuterDisposeScope();                     // (B, T, V)
    }

    /// <summary>Logits (..., V) from final hidden states (..., C), i.e. after the final norm.</summary>
    public Tensor Logits(Tensor hidden) =>
        lm_head is null ? functional.linear(hidden, model.EmbedTokens.weight!) : lm_head.call(hidden);

    /// <summary>An empty KV cache for <paramref name="batch"/> rows of up to <paramref name="capacity"/> tokens.</summary>
    public LlamaKvCache NewCache(long batch, long? capacity = null)
    {
        var weight = model.EmbedTokens.weight!;
        return new LlamaKvCache(Config, batch, capacity ?? Config.MaxSeqLen, weight.dtype, weight.device);
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
