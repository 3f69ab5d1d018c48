// A GGUF file running in llama.cpp itself (LLamaSharp's CPU backend): tokenization, greedy decoding and per-token NLL,
// fed with token ids, so a comparison with Condense is about the weights and the network, not about tokenization
// (which is compared on its own).
using Condense.Core;
using Condense.Language.Generation;
using Condense.Language.Native;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Condense.Experiments.Deployment;

/// <summary>A GGUF model loaded in llama.cpp, one sequence at a time.</summary>
public sealed class LlamaCppModel : IDisposable
{
    private static readonly Lazy<bool> Quiet = new(() =>
    {
        // llama.cpp logs every load to stderr; failures still surface as exceptions. CONDENSE_DEBUG=1 shows the log.
        if (Environment.GetEnvironmentVariable("CONDENSE_DEBUG") != "1") NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        return true;
    });

    private readonly LLamaWeights weights;
    private readonly LLamaContext context;
    private readonly LLamaBatch batch = new();
    private int position;

    /// <summary>
    /// Loads <paramref name="ggufPath"/> with a context of <paramref name="contextSize"/> positions on <paramref name="threads"/>
    /// threads. llama.cpp keeps its KV cache in f16 by default; <paramref name="f32KvCache"/> keeps it in f32, so a comparison
    /// with Condense isolates the weights' encoding.
    /// </summary>
    public LlamaCppModel(string ggufPath, int contextSize, int threads = 1, bool f32KvCache = true)
    {
        if (!File.Exists(ggufPath)) throw new InputException($"{ggufPath}: GGUF file not found");
        _ = Quiet.Value;
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize, GpuLayerCount = 0, Threads = threads, BatchThreads = threads, BatchSize = (uint)contextSize,
            UBatchSize = (uint)contextSize,
            TypeK = f32KvCache ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16,
            TypeV = f32KvCache ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16,
        };
        try
        {
            weights = LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or LLama.Exceptions.RuntimeError)
        {
            throw new InputException($"{ggufPath}: llama.cpp cannot load it ({e.Message})", e);
        }
        context = weights.CreateContext(parameters);
        ContextSize = contextSize;
    }

    /// <summary>Positions one sequence may use.</summary>
    public int ContextSize { get; }

    /// <summary>llama.cpp's own tokenization of <paramref name="text"/>, BOS first.</summary>
    public int[] Tokenize(string text) => context.Tokenize(text, addBos: true).Select(t => (int)t).ToArray();

    /// <summary>
    /// Greedy continuation of <paramref name="prompt"/> until <paramref name="steps"/> positions are forwarded or BOS
    /// (id 1) is chosen: the rule of Condense's generator, so the two token lists compare one to one.
    /// </summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int steps)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0 || steps < prompt.Count || steps > ContextSize)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must cover the prompt and fit the context of {ContextSize}");
        var tokens = prompt.ToList();
        int next = Prefill(prompt);
        while (tokens.Count < steps + 1 && next != 1)
        {
            tokens.Add(next);
            if (tokens.Count == steps + 1) break;
            next = Step(next);
        }
        return tokens;
    }

    /// <summary>Clears the cache and forwards <paramref name="prompt"/> from position 0 in one batch; returns the argmax after it.</summary>
    public int Prefill(IReadOnlyList<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        context.NativeHandle.MemoryClear();
        batch.Clear();
        for (int i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        position = prompt.Count;
        Decode(batch);
        return Sampler.Argmax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
    }

    /// <summary>Forwards one token at the next position; returns the argmax after it.</summary>
    public int Step(int token)
    {
        batch.Clear();
        batch.Add(token, position++, LLamaSeqId.Zero, true);
        Decode(batch);
        return Sampler.Argmax(context.NativeHandle.GetLogitsIth(0));
    }

    /// <summary>Σ −log p(token t+1 | tokens ≤ t) over one sequence (BOS first), and the number of predicted tokens.</summary>
    public (double Nll, int Count) SequenceNll(IReadOnlyList<int> sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Count < 2 || sequence.Count > ContextSize)
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence.Count, $"a sequence needs 2..{ContextSize} tokens");
        context.NativeHandle.MemoryClear();
        batch.Clear();
        for (int i = 0; i < sequence.Count; i++) batch.Add(sequence[i], i, LLamaSeqId.Zero, true);
        position = sequence.Count;
        Decode(batch);
        double nll = 0;
        for (int i = 0; i + 1 < sequence.Count; i++)
            nll += NativePerplexity.Nll(context.NativeHandle.GetLogitsIth(i), sequence[i + 1]);
        return (nll, sequence.Count - 1);
    }

    /// <summary>Token-weighted perplexity over <paramref name="sequences"/> (each BOS first), the protocol of Condense's eval-ppl.</summary>
    public double Perplexity(IEnumerable<IReadOnlyList<int>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        double nll = 0;
        long count = 0;
        foreach (var s in sequences)
        {
            var (n, c) = SequenceNll(s);
            nll += n;
            count += c;
        }
        return count > 0 ? Math.Exp(nll / count) : throw new ArgumentException("no tokens to score", nameof(sequences));
    }

    private void Decode(LLamaBatch batch)
    {
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        context.Dispose();
        weights.Dispose();
    }
}
