// Batch-1 LLaMA decoding without per-op overhead: the weights of a LlamaForCausalLM copied into flat float arrays,
// every buffer (activations, KV cache, logits) allocated once, and one token forwarded per call through plain loops
// over SIMD kernels (NativeKernels). The structure follows karpathy/llama2.c run.c's `forward`: RMSNorm, q/k/v, RoPE,
// grouped-query attention over the cache, output projection, residual; RMSNorm, SwiGLU, residual; final norm and
// classifier. The TorchSharp model stays the reference: tests hold logits to 1e-4 and greedy tokens equal.
//
// Every Condense LLaMA runs here: llama2.c (interleaved RoPE) and Hugging Face (rotate-half) layouts, pruned
// sub-layers (skipped, no cache) and per-layer widths (each layer's own sizes).
//
// Deviations from the TorchSharp path: the prompt is forwarded one position at a time (as run.c does), and sums run in
// the kernels' order, so logits differ from torch's by float rounding (~1e-6 relative).
using System.Runtime.CompilerServices;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Native;

/// <summary>A LLaMA in flat arrays, forwarding one token at a time with a preallocated KV cache.</summary>
public sealed class NativeLlama
{
    private sealed class Layer
    {
        public float[]? AttnNorm, Wq, Wk, Wv, Wo;
        public int QHeads, KvHeads;
        public float[]? FfnNorm, W1, W2, W3;
        public Packed24Matrix? Pq, Pk, Pv, Po, P1, P2, P3;   // packed 2:4 forms, where the weight is 2:4
        public int Hidden;
        public float[] KeyCache = [], ValueCache = [];   // (S, kv·hd)
    }

    private readonly Layer[] layers;
    private readonly float[] embedding, finalNorm, classifier;
    private readonly float[] cos, sin;   // (S, hd/2)
    private readonly float[] x, xb, q, k, v, attnOut, scores, hb, hb2, logits;
    private readonly int dim, headDim, maxSeq, vocab;
    private readonly float eps;
    private readonly bool interleaved;

    private NativeLlama(LlamaConfig config, Layer[] layers, float[] embedding, float[] finalNorm, float[] classifier, VectorPath path)
    {
        Config = config;
        this.layers = layers;
        this.embedding = embedding;
        this.finalNorm = finalNorm;
        this.classifier = classifier;
        Path = NativeKernels.Resolve(path);
        dim = config.Dim;
        headDim = config.HeadDim;
        maxSeq = config.MaxSeqLen;
        vocab = config.VocabSize;
        eps = (float)config.NormEps;
        interleaved = config.RopeLayout == RopeLayout.Interleaved;
        int half = headDim / 2;
        cos = new float[maxSeq * half];
        sin = new float[maxSeq * half];
        for (int p = 0; p < maxSeq; p++)
            for (int j = 0; j < half; j++)
            {
                // As Rope.CosSin: inverse frequency and angle in float64, cos/sin rounded to float32.
                double angle = p * (1.0 / Math.Pow(LlamaConfig.RopeTheta, 2.0 * j / headDim));
                cos[p * half + j] = (float)Math.Cos(angle);
                sin[p * half + j] = (float)Math.Sin(angle);
            }
        int maxQ = layers.Max(l => l.QHeads) * headDim, maxKv = layers.Max(l => l.KvHeads) * headDim, maxHidden = layers.Max(l => l.Hidden);
        x = new float[dim];
        xb = new float[Math.Max(dim, maxQ)];
        q = new float[Math.Max(maxQ, 1)];
        k = new float[Math.Max(maxKv, 1)];
        v = new float[Math.Max(maxKv, 1)];
        attnOut = new float[Math.Max(maxQ, 1)];
        scores = new float[maxSeq];
        hb = new float[Math.Max(maxHidden, 1)];
        hb2 = new float[Math.Max(maxHidden, 1)];
        logits = new float[vocab];
    }

    /// <summary>The model's configuration.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The SIMD width in use.</summary>
    public VectorPath Path { get; }

    /// <summary>Threads the large matrix-vector products are split over (results do not depend on it).</summary>
    public int Threads { get; private set; } = 1;

    /// <summary>Tokens forwarded since the last <see cref="Reset"/> (the next token's position).</summary>
    public int Position { get; private set; }

    /// <summary>Projection weights held in packed 2:4 form (0 for a dense model).</summary>
    public int PackedWeights { get; private set; }

    /// <summary>
    /// Copies <paramref name="model"/>'s weights (the model itself is not kept); large products run on
    /// <paramref name="threads"/> threads. With <paramref name="packTwoFour"/> (and AVX-512), every attention and MLP
    /// weight that is 2:4 along its inputs (inputs a multiple of 32) is also packed and its products use the packed kernel.
    /// </summary>
    public static NativeLlama FromModel(LlamaForCausalLM model, VectorPath path = VectorPath.Auto, int threads = 1, bool packTwoFour = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var config = model.Config;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        static float[] Flat(Tensor t) => t.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        var layers = new Layer[config.NLayers];
        int kvRows(int l) => config.KvHeads(l) * config.HeadDim;
        for (int l = 0; l < config.NLayers; l++)
        {
            var source = model.Model.Layers[l];
            var layer = new Layer { QHeads = config.QueryHeads(l), KvHeads = config.KvHeads(l), Hidden = config.MlpWidth(l) };
            if (source.SelfAttn is { } attn)
            {
                layer.AttnNorm = Flat(source.InputLayerNorm!.Weight);
                layer.Wq = Flat(attn.QProj.weight!);
                layer.Wk = Flat(attn.KProj.weight!);
                layer.Wv = Flat(attn.VProj.weight!);
                layer.Wo = Flat(attn.OProj.weight!);
                layer.KeyCache = new float[config.MaxSeqLen * kvRows(l)];
                layer.ValueCache = new float[config.MaxSeqLen * kvRows(l)];
            }
            else
            {
                layer.QHeads = layer.KvHeads = 0;
            }
            if (source.Mlp is { } mlp)
            {
                layer.FfnNorm = Flat(source.PostAttentionLayerNorm!.Weight);
                layer.W1 = Flat(mlp.GateProj.weight!);
                layer.W2 = Flat(mlp.DownProj.weight!);
                layer.W3 = Flat(mlp.UpProj.weight!);
            }
            else
            {
                layer.Hidden = 0;
            }
            layers[l] = layer;
        }
        int packed = 0;
        if (packTwoFour && Packed24Matrix.FastKernelSupported)
            foreach (var layer in layers)
            {
                Packed24Matrix? Pack(float[]? w, int inputs)
                {
                    if (w is null || inputs % 32 != 0 || !Packed24Matrix.IsTwoFour(w)) return null;
                    packed++;
                    return Packed24Matrix.Pack(w, w.Length / inputs, inputs);
                }
                int qDim = layer.QHeads * config.HeadDim;
                layer.Pq = Pack(layer.Wq, config.Dim);
                layer.Pk = Pack(layer.Wk, config.Dim);
                layer.Pv = Pack(layer.Wv, config.Dim);
                layer.Po = Pack(layer.Wo, qDim);
                layer.P1 = Pack(layer.W1, config.Dim);
                layer.P3 = Pack(layer.W3, config.Dim);
                layer.P2 = Pack(layer.W2, layer.Hidden);
                // A packed weight's dense copy is never read again: keep an empty array in its place.
                if (layer.Pq is not null) layer.Wq = [];
                if (layer.Pk is not null) layer.Wk = [];
                if (layer.Pv is not null) layer.Wv = [];
                if (layer.Po is not null) layer.Wo = [];
                if (layer.P1 is not null) layer.W1 = [];
                if (layer.P3 is not null) layer.W3 = [];
                if (layer.P2 is not null) layer.W2 = [];
            }
        return new NativeLlama(config, layers, Flat(model.Model.EmbedTokens.weight!), Flat(model.Model.Norm.Weight), Flat(model.OutputWeight), path)
        {
            Threads = threads,
            PackedWeights = packed,
        };
    }

    /// <summary>Forgets the cached positions (the cache is overwritten, not cleared).</summary>
    public void Reset() => Position = 0;

    /// <summary>
    /// Goes back to <paramref name="position"/> (at most <see cref="Position"/>): the positions after it are forgotten
    /// and the next token is forwarded there, e.g. to decode again against the same cached context.
    /// </summary>
    public void Rewind(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Position = position;
    }

    // One block alone, for the latency table (Flextron's per-layer entries): the residual stream is reset to a token's
    // embedding first, so repeated calls see the same values (no growth toward overflow or denormals).
    internal void ForwardAttentionBlock(int layer, int token, int pos)
    {
        embedding.AsSpan(token * dim, dim).CopyTo(x);
        Attention(layers[layer], pos);
    }

    internal void ForwardMlpBlock(int layer, int token)
    {
        embedding.AsSpan(token * dim, dim).CopyTo(x);
        Mlp(layers[layer]);
    }

    /// <summary>Forwards <paramref name="token"/> at <see cref="Position"/> and returns the logits of the next token (valid until the next call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<float> Forward(int token)
    {
        if ((uint)token >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are 0..{vocab - 1}");
        if (Position >= maxSeq) throw new InvalidOperationException($"the sequence is full ({maxSeq} positions)");
        int pos = Position;
        embedding.AsSpan(token * dim, dim).CopyTo(x);
        foreach (var layer in layers)
        {
            if (layer.Wq is not null) Attention(layer, pos);
            if (layer.W1 is not null) Mlp(layer);
        }
        NativeKernels.RmsNorm(x, finalNorm, eps, xb.AsSpan(0, dim), Path);
        Mv(classifier, null, xb, dim, logits, 0, vocab);
        Position++;
        return logits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attention(Layer layer, int pos)
    {
        int hd = headDim, qDim = layer.QHeads * hd, kvDim = layer.KvHeads * hd, nRep = layer.QHeads / layer.KvHeads;
        var normed = xb.AsSpan(0, dim);
        NativeKernels.RmsNorm(x, layer.AttnNorm, eps, normed, Path);
        var qs = q.AsSpan(0, qDim);
        var ks = layer.KeyCache.AsSpan(pos * kvDim, kvDim);      // this position's key and value go straight into the cache
        var vs = layer.ValueCache.AsSpan(pos * kvDim, kvDim);
        Mv(layer.Wq!, layer.Pq, xb, dim, q, 0, qDim);
        Mv(layer.Wk!, layer.Pk, xb, dim, layer.KeyCache, pos * kvDim, kvDim);
        Mv(layer.Wv!, layer.Pv, xb, dim, layer.ValueCache, pos * kvDim, kvDim);
        Rotate(qs, pos);
        Rotate(ks, pos);
        float scale = 1f / MathF.Sqrt(hd);
        var output = attnOut.AsSpan(0, qDim);
        output.Clear();
        // Small heads (stories260K's are 8 wide) run as plain loops: a kernel call per position would cost more than
        // its few multiply-adds.
        bool small = hd < 32;
        for (int h = 0; h < layer.QHeads; h++)
        {
            var qh = qs.Slice(h * hd, hd);
            int kvOffset = h / nRep * hd;
            var att = scores.AsSpan(0, pos + 1);
            var keys = layer.KeyCache.AsSpan(0, (pos + 1) * kvDim);
            for (int t = 0; t <= pos; t++)
            {
                var key = keys.Slice(t * kvDim + kvOffset, hd);
                float dot = 0;
                if (small)
                    for (int d = 0; d < key.Length; d++) dot += qh[d] * key[d];
                else
                    dot = NativeKernels.Dot(qh, key, Path);
                att[t] = dot * scale;
            }
            NativeKernels.Softmax(att);
            var oh = output.Slice(h * hd, hd);
            var values = layer.ValueCache.AsSpan(0, (pos + 1) * kvDim);
            for (int t = 0; t <= pos; t++)
            {
                var value = values.Slice(t * kvDim + kvOffset, hd);
                float a = att[t];
                if (small)
                    for (int d = 0; d < value.Length; d++) oh[d] += a * value[d];
                else
                    NativeKernels.AddScaled(oh, value, a, Path);
            }
        }
        var projected = xb.AsSpan(0, dim);
        Mv(layer.Wo!, layer.Po, attnOut, qDim, xb, 0, dim);
        for (int i = 0; i < dim; i++) x[i] += projected[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Mlp(Layer layer)
    {
        var normed = xb.AsSpan(0, dim);
        NativeKernels.RmsNorm(x, layer.FfnNorm, eps, normed, Path);
        var gate = hb.AsSpan(0, layer.Hidden);
        var up = hb2.AsSpan(0, layer.Hidden);
        Mv(layer.W1!, layer.P1, xb, dim, hb, 0, layer.Hidden);
        Mv(layer.W3!, layer.P3, xb, dim, hb2, 0, layer.Hidden);
        NativeKernels.SwiGlu(gate, up);
        Mv(layer.W2!, layer.P2, hb, layer.Hidden, xb, 0, dim);
        for (int i = 0; i < dim; i++) x[i] += normed[i];
    }

    private void Mv(float[] w, Packed24Matrix? packed, float[] input, int inputLength, float[] output, int outputOffset, int rows)
    {
        if (packed is not null) NativeKernels.MatVec(packed, input, output, outputOffset, Threads);
        else NativeKernels.MatVec(w, input, inputLength, output, outputOffset, rows, Path, Threads);
    }

    // RoPE on every head of vec (heads of headDim), in the model's layout; as Rope.Apply: x·cos + rotate(x)·sin.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rotate(Span<float> vec, int pos)
    {
        int half = headDim / 2;
        var c = cos.AsSpan(pos * half, half);
        var s = sin.AsSpan(pos * half, half);
        for (int head = 0; head < vec.Length; head += headDim)
        {
            var h = vec.Slice(head, headDim);
            for (int j = 0; j < half; j++)
            {
                int i0 = interleaved ? 2 * j : j, i1 = interleaved ? 2 * j + 1 : j + half;
                float a = h[i0], b = h[i1];
                h[i0] = a * c[j] + -b * s[j];
                h[i1] = b * c[j] + a * s[j];
            }
        }
    }
}
