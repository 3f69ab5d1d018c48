// Batch-1 LLaMA decoding without per-op overhead: the weights of a LlamaForCausalLM copied into flat float arrays,
// every buffer (activations, KV cache, logits) allocated once, and one token forwarded per call through plain loops
// over SIMD kernels (NativeKernels). The structure follows karpathy/llama2.c run.c's `forward`: RMSNorm, q/k/v, RoPE,
// grouped-query attention over the cache, output projection, residual; RMSNorm, SwiGLU, residual; final norm and
// classifier. The TorchSharp model stays the reference: tests hold logits to 1e-4 and greedy tokens equal.
//
// Every Condense LLaMA runs here: llama2.c (interleaved RoPE) and Hugging Face (rotate-half) layouts, pruned
// sub-layers (skipped, no cache) and per-layer widths (each layer's own sizes).
//
// A prompt (or a document to score) is forwarded in blocks of up to BlockTokens positions: every projection of the block
// is one matrix product (NativeGemm) that reads each weight once for all its tokens, and attention runs per position over
// the cache. One token alone takes the matrix-vector kernels, which are bound by weight bytes.
//
// With per-token MLP routers (RouteMlps, Flextron's dynamic routing), each token's MLP runs at the width its router
// picks: tokens of a block are grouped by width and each group is one smaller product (NativeMlpRouting).
//
// Deviations from the TorchSharp path: sums run in the kernels' order, so logits differ from torch's by float rounding
// (~1e-6 relative); a block's products sum in another order than single-token decode, so the same position's logits
// differ between the two by rounding too.
using System.Runtime.CompilerServices;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Native;

/// <summary>A LLaMA in flat arrays, forwarding one token at a time with a preallocated KV cache.</summary>
public sealed class NativeLlama
{
    private sealed class Layer
    {
        public float[]? AttnNorm, FfnNorm;             // null where the sub-layer is pruned
        public float[] Wq = [], Wk = [], Wv = [], Wo = [], W1 = [], W2 = [], W3 = [];   // empty where packed or pruned
        public int QHeads, KvHeads;
        public Packed24Matrix? Pq, Pk, Pv, Po, P1, P2, P3;   // packed 2:4 forms, where the weight is 2:4
        public int Hidden;
        public float[] KeyCache = [], ValueCache = [];   // (S, kv·hd)
    }

    private readonly Layer[] layers;
    private readonly float[] embedding, finalNorm, classifier;
    private readonly float[] cos, sin;   // (S, hd/2)
    // Activations of a block of positions, row t for position Position + t: x (T, dim) is the residual stream.
    private readonly float[] x, xb, q, attnOut, scores, hb, hb2, logits;
    private float[]? blockLogits;   // (T, vocab), allocated on the first Score
    private readonly int dim, headDim, maxSeq, vocab, block;
    private readonly float eps;
    private readonly bool interleaved;
    // Per-token MLP routing (null when every MLP runs whole): per layer and width, the down projection's first k columns
    // as a contiguous (dim, k) copy; a block's tokens gathered by width and their outputs; the counts of neurons kept.
    private NativeMlpRouting? routing;
    private float[][][] downByWidth = [];
    private float[] routedIn = [], routedOut = [], routerHidden = [];
    private int[] routedWidth = [], routedRows = [];

    /// <summary>Positions forwarded together in one block of matrix products (prefill and scoring).</summary>
    public const int BlockTokens = 64;

    /// <summary>Receives the logits of the token after position <paramref name="index"/> of a scored sequence (valid during the call).</summary>
    public delegate void LogitsHandler(int index, ReadOnlySpan<float> logits);

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
        int maxQ = layers.Max(l => l.QHeads) * headDim, maxHidden = layers.Max(l => l.Hidden);
        block = Math.Min(BlockTokens, maxSeq);
        x = new float[block * dim];
        xb = new float[block * dim];
        q = new float[block * Math.Max(maxQ, 1)];
        attnOut = new float[block * Math.Max(maxQ, 1)];
        scores = new float[maxSeq];
        hb = new float[block * Math.Max(maxHidden, 1)];
        hb2 = new float[block * Math.Max(maxHidden, 1)];
        logits = new float[vocab];
    }

    /// <summary>The model's configuration.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The SIMD width in use.</summary>
    public VectorPath Path { get; }

    /// <summary>Threads the large matrix-vector products are split over (results do not depend on it).</summary>
    public int Threads => Split.Threads;

    /// <summary>How the products are split over <see cref="Threads"/>.</summary>
    public ThreadSplit Split { get; private init; } = ThreadSplit.One;

    /// <summary>Tokens forwarded since the last <see cref="Reset"/> (the next token's position).</summary>
    public int Position { get; private set; }

    /// <summary>Projection weights held in packed 2:4 form (0 for a dense model).</summary>
    public int PackedWeights { get; private set; }

    /// <summary>MLP neurons the per-token routers kept, summed over tokens and layers, since routing was set.</summary>
    public long RoutedNeuronsKept { get; private set; }

    /// <summary>MLP neurons of the full widths over the same tokens and layers.</summary>
    public long RoutedNeuronsTotal { get; private set; }

    /// <summary>
    /// Routes every MLP per token with <paramref name="routers"/> (Flextron's dynamic routing), or runs every MLP whole again
    /// when null. The MLP weights must be dense (not packed 2:4) and each layer as wide as the widest candidate.
    /// </summary>
    public void RouteMlps(NativeMlpRouting? routers)
    {
        routing = null;
        downByWidth = [];
        RoutedNeuronsKept = RoutedNeuronsTotal = 0;
        if (routers is null) return;
        if (routers.Layers != layers.Length || routers.Dim != dim)
            throw new ArgumentException($"routers for {routers.Layers} layers of width {routers.Dim}; the model has {layers.Length} of width {dim}", nameof(routers));
        var copies = new float[layers.Length][][];
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = layers[l];
            if (layer.FfnNorm is null) throw new ArgumentException($"layer {l} has no MLP to route", nameof(routers));
            if (layer.P1 is not null || layer.P2 is not null || layer.P3 is not null)
                throw new ArgumentException($"layer {l}'s MLP is packed 2:4; per-token routing runs on dense weights", nameof(routers));
            if (routers.Units[^1] != layer.Hidden)
                throw new ArgumentException($"layer {l} has {layer.Hidden} MLP neurons; the routers' widest choice is {routers.Units[^1]}", nameof(routers));
            copies[l] = routers.Units.Select(k =>
            {
                var down = new float[dim * k];   // (dim, k): row o is W2[o, :k]
                for (int o = 0; o < dim; o++) layer.W2.AsSpan(o * layer.Hidden, k).CopyTo(down.AsSpan(o * k, k));
                return down;
            }).ToArray();
        }
        downByWidth = copies;
        routedIn = new float[block * dim];
        routedOut = new float[block * dim];
        routedWidth = new int[block];
        routedRows = new int[block];
        routerHidden = new float[block * routers.Hidden];
        routing = routers;
    }

    /// <summary>
    /// Copies <paramref name="model"/>'s weights (the model itself is not kept); large products run on
    /// <paramref name="threads"/> threads. With <paramref name="packTwoFour"/> (and AVX-512 or AVX2), every attention and MLP
    /// weight that is 2:4 along its inputs (inputs a multiple of 32) is packed (its dense copy dropped) and its products use
    /// the packed kernel.
    /// </summary>
    /// <param name="spinningWorkers">The spinning <see cref="WorkerTeam"/> (default); false runs the products as the engine did
    /// before it, on Parallel.For (the ablation in <c>bench decode</c>).</param>
    public static NativeLlama FromModel(LlamaForCausalLM model, VectorPath path = VectorPath.Auto, int threads = 1, bool packTwoFour = true,
        bool spinningWorkers = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var config = model.Config;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        static float[] Flat(Tensor t) => t.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        bool pack = packTwoFour && Packed24Matrix.FastKernelSupported;
        int packed = 0;
        // A projection either packed (2:4 along inputs that are a multiple of 32) or kept dense.
        float[] Projection(Tensor weight, out Packed24Matrix? packedForm)
        {
            var w = Flat(weight);
            int inputs = (int)weight.shape[1];
            packedForm = pack && inputs % 32 == 0 && Packed24Matrix.IsTwoFour(w) ? Packed24Matrix.Pack(w, w.Length / inputs, inputs) : null;
            if (packedForm is null) return w;
            packed++;
            return [];
        }
        var layers = new Layer[config.NLayers];
        int kvRows(int l) => config.KvHeads(l) * config.HeadDim;
        for (int l = 0; l < config.NLayers; l++)
        {
            var source = model.Model.Layers[l];
            var layer = new Layer { QHeads = config.QueryHeads(l), KvHeads = config.KvHeads(l), Hidden = config.MlpWidth(l) };
            if (source.SelfAttn is { } attn)
            {
                layer.AttnNorm = Flat(source.InputLayerNorm!.Weight);
                layer.Wq = Projection(attn.QProj.weight!, out layer.Pq);
                layer.Wk = Projection(attn.KProj.weight!, out layer.Pk);
                layer.Wv = Projection(attn.VProj.weight!, out layer.Pv);
                layer.Wo = Projection(attn.OProj.weight!, out layer.Po);
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
                layer.W1 = Projection(mlp.GateProj.weight!, out layer.P1);
                layer.W2 = Projection(mlp.DownProj.weight!, out layer.P2);
                layer.W3 = Projection(mlp.UpProj.weight!, out layer.P3);
            }
            else
            {
                layer.Hidden = 0;
            }
            layers[l] = layer;
        }
        var embedding = Flat(model.Model.EmbedTokens.weight!);
        // A tied classifier is the embedding itself: one copy serves both.
        var classifier = config.TiedEmbeddings ? embedding : Flat(model.OutputWeight);
        return new NativeLlama(config, layers, embedding, Flat(model.Model.Norm.Weight), classifier, path)
        {
            Split = new ThreadSplit(threads, spinningWorkers),
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

    // One block alone, for the latency table (Flextron's per-layer entries), over up to BlockTokens positions from pos:
    // the residual stream is reset to the tokens' embeddings first, so repeated calls see the same values (no growth
    // toward overflow or denormals).
    internal void ForwardAttentionBlock(int layer, ReadOnlySpan<int> tokens, int pos)
    {
        Embed(tokens);
        Attention(layers[layer], pos, tokens.Length);
    }

    internal void ForwardMlpBlock(int layer, ReadOnlySpan<int> tokens)
    {
        Embed(tokens);
        Mlp(layers[layer], tokens.Length);
    }

    // x[t] = the embedding of tokens[t], for a block of at most `block` tokens.
    private void Embed(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length > block) throw new ArgumentException($"a block holds at most {block} positions, got {tokens.Length}", nameof(tokens));
        for (int t = 0; t < tokens.Length; t++)
        {
            int token = tokens[t];
            if ((uint)token >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token ids are 0..{vocab - 1}");
            embedding.AsSpan(token * dim, dim).CopyTo(x.AsSpan(t * dim, dim));
        }
    }

    /// <summary>Forwards <paramref name="token"/> at <see cref="Position"/> and returns the logits of the next token (valid until the next call).</summary>
    public ReadOnlySpan<float> Forward(int token) => Forward([token]);

    /// <summary>
    /// Forwards <paramref name="tokens"/> from <see cref="Position"/> on, in blocks of matrix products, and returns the logits
    /// after the last one (valid until the next call).
    /// </summary>
    public ReadOnlySpan<float> Forward(scoped ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to forward", nameof(tokens));
        for (int start = 0; start < tokens.Length; start += block)
            ForwardBlock(tokens.Slice(start, Math.Min(block, tokens.Length - start)), lastOnly: true);
        return logits;
    }

    /// <summary>
    /// Forwards <paramref name="tokens"/> from <see cref="Position"/> on and hands the logits after every position to
    /// <paramref name="handler"/> (perplexity): the classifier, too, runs as one product per block.
    /// </summary>
    public void Score(ReadOnlySpan<int> tokens, LogitsHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        blockLogits ??= new float[block * vocab];
        for (int start = 0; start < tokens.Length; start += block)
        {
            int count = Math.Min(block, tokens.Length - start);
            ForwardBlock(tokens.Slice(start, count), lastOnly: false);
            for (int t = 0; t < count; t++) handler(start + t, blockLogits.AsSpan(t * vocab, vocab));
        }
    }

    // Forwards up to `block` tokens at Position..; the logits go to `logits` (the last position's) or to blockLogits (every position's).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardBlock(ReadOnlySpan<int> tokens, bool lastOnly)
    {
        int count = tokens.Length, pos = Position;
        if (Position + count > maxSeq) throw new InvalidOperationException($"the sequence is full ({maxSeq} positions)");
        Embed(tokens);
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = layers[l];
            if (layer.AttnNorm is not null) Attention(layer, pos, count);
            if (layer.FfnNorm is null) continue;
            if (routing is null) Mlp(layer, count);
            else RoutedMlp(l, count);
        }
        if (lastOnly)
        {
            NativeKernels.RmsNorm(x.AsSpan((count - 1) * dim, dim), finalNorm, eps, xb.AsSpan(0, dim), Path);
            Mm(classifier, null, xb, 1, dim, logits, 0, vocab);
        }
        else
        {
            Norm(finalNorm, count);
            Mm(classifier, null, xb, count, dim, blockLogits!, 0, vocab);
        }
        Position += count;
    }

    // xb[t] = RMSNorm(x[t]) for the block's positions.
    private void Norm(float[] weight, int count)
    {
        for (int t = 0; t < count; t++) NativeKernels.RmsNorm(x.AsSpan(t * dim, dim), weight, eps, xb.AsSpan(t * dim, dim), Path);
    }

    // x += xb over the block.
    private void AddResidual(int count)
    {
        var sum = x.AsSpan(0, count * dim);
        var projected = xb.AsSpan(0, count * dim);
        for (int i = 0; i < sum.Length; i++) sum[i] += projected[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attention(Layer layer, int pos, int count)
    {
        int hd = headDim, qDim = layer.QHeads * hd, kvDim = layer.KvHeads * hd;
        Norm(layer.AttnNorm!, count);
        // The block's keys and values go straight into the cache: rows pos..pos+count-1 are contiguous there.
        Mm(layer.Wq, layer.Pq, xb, count, dim, q, 0, qDim);
        Mm(layer.Wk, layer.Pk, xb, count, dim, layer.KeyCache, pos * kvDim, kvDim);
        Mm(layer.Wv, layer.Pv, xb, count, dim, layer.ValueCache, pos * kvDim, kvDim);
        for (int t = 0; t < count; t++)
        {
            Rotate(q.AsSpan(t * qDim, qDim), pos + t);
            Rotate(layer.KeyCache.AsSpan((pos + t) * kvDim, kvDim), pos + t);
        }
        for (int t = 0; t < count; t++) Attend(layer, q.AsSpan(t * qDim, qDim), pos + t, attnOut.AsSpan(t * qDim, qDim));
        Mm(layer.Wo, layer.Po, attnOut, count, qDim, xb, 0, dim);
        AddResidual(count);
    }

    // Every query head of one position against the cache up to that position (causal).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend(Layer layer, ReadOnlySpan<float> qs, int pos, Span<float> output)
    {
        int hd = headDim, kvDim = layer.KvHeads * hd, nRep = layer.QHeads / layer.KvHeads;
        float scale = 1f / MathF.Sqrt(hd);
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
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Mlp(Layer layer, int count)
    {
        Norm(layer.FfnNorm!, count);
        WholeMlp(layer, count, keptNeurons: null);
    }

    // The full MLP on the normalised block in xb; with keptNeurons, each token's neurons from keptNeurons[t] on are
    // zeroed before the down projection (masked routing).
    private void WholeMlp(Layer layer, int count, int[]? keptNeurons)
    {
        int hidden = layer.Hidden;
        Mm(layer.W1, layer.P1, xb, count, dim, hb, 0, hidden);
        Mm(layer.W3, layer.P3, xb, count, dim, hb2, 0, hidden);
        NativeKernels.SwiGlu(hb.AsSpan(0, count * hidden), hb2.AsSpan(0, count * hidden));
        if (keptNeurons is not null)
            for (int t = 0; t < count; t++) hb.AsSpan(t * hidden + keptNeurons[t], hidden - keptNeurons[t]).Clear();
        Mm(layer.W2, layer.P2, hb, count, hidden, xb, 0, dim);
        AddResidual(count);
    }

    // The MLP with each token at its router's width: grouped, every group of tokens of one width is gathered into
    // routedIn, runs as a dense MLP of that width, and its outputs are added to those tokens' residual rows; masked,
    // the full MLP runs with each token's neurons beyond its width zeroed.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RoutedMlp(int index, int count)
    {
        var layer = layers[index];
        var router = routing!;
        Norm(layer.FfnNorm!, count);
        Mm(router.InputWeight(index), null, xb, count, dim, routerHidden, 0, router.Hidden);   // (count, router hidden)
        for (int t = 0; t < count; t++)
        {
            routedWidth[t] = router.Units[router.Pick(index, routerHidden.AsSpan(t * router.Hidden, router.Hidden))];
            RoutedNeuronsKept += routedWidth[t];
        }
        RoutedNeuronsTotal += (long)count * layer.Hidden;
        if (router.Execution == NativeRoutedMlp.Masked)
        {
            WholeMlp(layer, count, routedWidth);
            return;
        }
        for (int k = 0; k < router.Units.Length; k++)
        {
            int width = router.Units[k], rows = 0;
            for (int t = 0; t < count; t++)
                if (routedWidth[t] == width) routedRows[rows++] = t;
            if (rows == 0) continue;
            for (int r = 0; r < rows; r++) xb.AsSpan(routedRows[r] * dim, dim).CopyTo(routedIn.AsSpan(r * dim, dim));
            // The first `width` rows of the gate and up weights are the narrow MLP's; its down weight is the copy.
            Mm(layer.W1, null, routedIn, rows, dim, hb, 0, width);
            Mm(layer.W3, null, routedIn, rows, dim, hb2, 0, width);
            NativeKernels.SwiGlu(hb.AsSpan(0, rows * width), hb2.AsSpan(0, rows * width));
            Mm(downByWidth[index][k], null, hb, rows, width, routedOut, 0, dim);
            for (int r = 0; r < rows; r++)
            {
                var residual = x.AsSpan(routedRows[r] * dim, dim);
                var update = routedOut.AsSpan(r * dim, dim);
                for (int i = 0; i < dim; i++) residual[i] += update[i];
            }
        }
    }

    // output[offset + t·rows + o] = (W input[t])[o] for the block's `count` positions: one position takes the
    // matrix-vector kernels, several the matrix product (a packed 2:4 weight unpacked 4 rows at a time for it).
    private void Mm(float[] w, Packed24Matrix? packed, float[] input, int count, int inputLength, float[] output, int outputOffset, int rows)
    {
        if (packed is not null && count == 1)
            NativeKernels.MatVec(packed, input, output, outputOffset, Split);
        else if (packed is not null)
            NativeGemm.MatMul(packed, input, count, output, outputOffset, Path, Split);
        else if (count == 1)
            NativeKernels.MatVec(w, input, inputLength, output, outputOffset, rows, Path, Split);
        else
            NativeGemm.MatMul(w, input, count, inputLength, output, outputOffset, rows, Path, Split);
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
