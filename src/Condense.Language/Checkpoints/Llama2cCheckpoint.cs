// llama2.c checkpoints, version 0 ("legacy_export" in karpathy/llama2.c export.py; read by run.c's
// read_checkpoint/memory_map_weights): a 7 x int32 header `dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len` (negative vocab_size: the classifier is not shared and follows at the end), then float32
// arrays tok_embeddings[V,D], rms_att[L,D], wq[L,D,D], wk[L,KV*hs,D], wv[L,KV*hs,D], wo[L,D,D], rms_ffn[L,D],
// w1[L,H,D], w2[L,D,H], w3[L,H,D], rms_final[D], freq_cis_real[S,hs/2], freq_cis_imag[S,hs/2], (wcls[V,D]).
//
// Deviations: the stored freq_cis tables are skipped on read (RoPE recomputes the same angles, theta 10000) and
// recomputed on write the way export.py's precompute_freqs_cis does (float32). RMSNorm eps is llama2.c's 1e-5.
using Condense.Core;
using Condense.Core.IO;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Checkpoints;

/// <summary>Reads and writes llama2.c version-0 checkpoints as <see cref="LlamaForCausalLM"/>.</summary>
public static class Llama2cCheckpoint
{
    private const int HeaderBytes = 7 * sizeof(int);

    /// <summary>The header of a llama2.c file, validated against the file size.</summary>
    public static LlamaConfig ReadConfig(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path).Config;
    }

    /// <summary>
    /// Loads a llama2.c checkpoint into a model whose q/k rows stay in llama2.c's interleaved RoPE layout
    /// (<see cref="RopeLayout.Interleaved"/>), so the weights are exactly the file's.
    /// </summary>
    public static LlamaForCausalLM Read(string path)
    {
        using var stream = OpenRead(path);
        var (config, _) = ReadHeader(stream, path);
        var model = new LlamaForCausalLM(config);
        model.eval();
        using var noGrad = no_grad();
        var layers = model.Model.Layers;
        int L = config.NLayers;
        ReadInto(stream, model.Model.EmbedTokens.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].InputLayerNorm!.Weight);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].SelfAttn!.QProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].SelfAttn!.KProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].SelfAttn!.VProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].SelfAttn!.OProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].PostAttentionLayerNorm!.Weight);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].Mlp!.GateProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].Mlp!.DownProj.weight!);
        for (int l = 0; l < L; l++) ReadInto(stream, layers[l].Mlp!.UpProj.weight!);
        ReadInto(stream, model.Model.Norm.Weight);
        stream.Seek(2L * config.MaxSeqLen * (config.HeadDim / 2) * sizeof(float), SeekOrigin.Current);
        if (!config.TiedEmbeddings) ReadInto(stream, model.OutputWeight);
        return model;
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a llama2.c version-0 file (atomically). Rotate-half q/k rows are
    /// permuted to llama2.c's interleaved layout. Models with pruned sub-layers cannot be written.
    /// </summary>
    public static void Write(LlamaForCausalLM model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        if (config.RemovedAttention is { Count: > 0 } || config.RemovedMlp is { Count: > 0 })
            throw new InputException($"{path}: llama2.c files cannot hold pruned sub-layers ({config.PrunedSummary()})");
        if (config.HasLayerWidths)
        {
            // One width per file: narrow layers are stored padded with zero units (the same function).
            using var padded = LayerWidthPadding.PadToFullWidth(model);
            Write(padded, path);
            return;
        }
        AtomicFile.Write(path, stream =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Span<int> header =
            [
                config.Dim, config.HiddenDim, config.NLayers, config.NHeads, config.NKvHeads,
                config.TiedEmbeddings ? config.VocabSize : -config.VocabSize, config.MaxSeqLen,
            ];
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(header));
            var layers = model.Model.Layers;
            bool permute = config.RopeLayout == RopeLayout.RotateHalf;
            IEnumerable<Tensor> PerLayer(Func<LlamaDecoderLayer, Tensor> pick) => layers.Select(pick);
            var arrays = new List<Tensor> { model.Model.EmbedTokens.weight! };
            arrays.AddRange(PerLayer(l => l.InputLayerNorm!.Weight));
            arrays.AddRange(PerLayer(l => permute
                ? LlamaConversion.RotateHalfToInterleaved(l.SelfAttn!.QProj.weight!, config.NHeads)
                : l.SelfAttn!.QProj.weight!));
            arrays.AddRange(PerLayer(l => permute
                ? LlamaConversion.RotateHalfToInterleaved(l.SelfAttn!.KProj.weight!, config.NKvHeads)
                : l.SelfAttn!.KProj.weight!));
            arrays.AddRange(PerLayer(l => l.SelfAttn!.VProj.weight!));
            arrays.AddRange(PerLayer(l => l.SelfAttn!.OProj.weight!));
            arrays.AddRange(PerLayer(l => l.PostAttentionLayerNorm!.Weight));
            arrays.AddRange(PerLayer(l => l.Mlp!.GateProj.weight!));
            arrays.AddRange(PerLayer(l => l.Mlp!.DownProj.weight!));
            arrays.AddRange(PerLayer(l => l.Mlp!.UpProj.weight!));
            arrays.Add(model.Model.Norm.Weight);
            var (cos, sin) = FreqCis(config.HeadDim, config.MaxSeqLen);
            arrays.Add(cos);
            arrays.Add(sin);
            if (!config.TiedEmbeddings) arrays.Add(model.OutputWeight);
            foreach (var t in arrays)
                stream.Write(t.detach().to_type(ScalarType.Float32).cpu().contiguous().bytes);
        });
    }

    /// <summary>export.py's precompute_freqs_cis(hs, seq_len): cos and sin (S, hs/2) of float32 angles.</summary>
    public static (Tensor Cos, Tensor Sin) FreqCis(int headDim, int seqLen, double theta = LlamaConfig.RopeTheta)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, ScalarType.Float32) / headDim;   // (hs/2)
        var freqs = pow(theta, exponents).reciprocal();                        // (hs/2)
        var angles = outer(arange(seqLen, ScalarType.Float32), freqs);         // (S, hs/2)
        return (angles.cos().MoveToOuterDisposeScope(), angles.sin().MoveToOuterDisposeScope());
    }

    // The header's name for each LlamaConfig size, so an error names the field of the file.
    private static readonly Dictionary<string, string> FieldNames = new(StringComparer.Ordinal)
    {
        ["Dim"] = "dim", ["HiddenDim"] = "hidden_dim", ["NLayers"] = "n_layers", ["NHeads"] = "n_heads",
        ["NKvHeads"] = "n_kv_heads", ["VocabSize"] = "vocab_size", ["MaxSeqLen"] = "seq_len",
    };

    private static (LlamaConfig Config, long Floats) ReadHeader(FileStream stream, string path)
    {
        long size = stream.Length;
        if (size < HeaderBytes)
            throw new InputException($"{path}: {size} bytes, too short for a llama2.c checkpoint header ({HeaderBytes} bytes)");
        Span<byte> bytes = stackalloc byte[HeaderBytes];
        stream.ReadExactly(bytes);
        var h = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes);
        int dim = h[0], hidden = h[1], nLayers = h[2], nHeads = h[3], nKv = h[4], vocab = h[5], seq = h[6];
        string fields = $"dim {dim}, hidden_dim {hidden}, n_layers {nLayers}, n_heads {nHeads}, " +
            $"n_kv_heads {nKv}, vocab_size {vocab}, seq_len {seq}";
        if (dim <= 0 || hidden <= 0 || nLayers <= 0 || nHeads <= 0 || nKv <= 0 || vocab == 0 || seq <= 0
            || dim % nHeads != 0 || nHeads % nKv != 0 || (dim / nHeads) % 2 != 0)
            throw new InputException($"{path}: not a llama2.c version-0 checkpoint (header: {fields})");
        bool shared = vocab > 0;
        long V = Math.Abs((long)vocab), D = dim, H = hidden, L = nLayers, hs = dim / nHeads, kvDim = nKv * hs;
        var config = new LlamaConfig(dim, hidden, nLayers, nHeads, nKv, (int)Math.Min(V, int.MaxValue), seq, NormEps: 1e-5,
            TiedEmbeddings: shared, RopeLayout: RopeLayout.Interleaved);
        try
        {
            config.Validate();   // bounds every size, so the products below cannot overflow
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"{path}: not a plausible llama2.c checkpoint: {LlamaConfig.InFieldNames(ex.Message, FieldNames)}", ex);
        }
        long floats = checked(V * D + L * (2 * D + 2 * D * D + 2 * kvDim * D + 3 * D * H) + D + seq * hs
            + (shared ? 0 : V * D));
        long expected = checked(HeaderBytes + 4 * floats);
        if (size != expected)
            throw new InputException($"{path}: {size} bytes but its header ({fields}) needs {expected} " +
                $"(28 + 4 x {floats} floats); the file is {(size < expected ? "truncated" : "too long")} or not a llama2.c checkpoint");
        return (config, floats);
    }

    private static void ReadInto(FileStream stream, Tensor target)
    {
        // Parameters are contiguous float32 CPU tensors freshly made by the constructor.
        stream.ReadExactly(target.bytes);
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException($"{path}: llama2.c checkpoint not found", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new InputException($"{path}: cannot read the llama2.c checkpoint ({ex.Message})", ex);
        }
    }
}
