// Flextron's latency lookup table (Cai et al., ICML 2024, section 3.2): the router's latency loss needs the latency of
// any sub-network without running it, so each layer's latency at each candidate width is measured once on the target
// hardware and a configuration's latency is their sum, Lat(config) = fixed + Σ_layers LUT[attention][g] + LUT[mlp][k].
//
// How it is measured here: every decoder layer has the same shapes, so one attention block per head-group count and
// one MLP block per neuron count are timed and their times used for every layer (their position in the network does
// not change their cost). "Fixed" is calibrated, not summed from parts: the full model is timed end to end and fixed =
// full − Σ_layers (attention + MLP at full width), i.e. the embedding, final norm, classifier and every per-call cost
// the blocks do not see (a first version summed separately timed parts and under-predicted real sub-networks by
// 30-50% on stories260K). Being a difference of timings, it can come out negative on a noisy machine. Two modes, each
// per call of one row:
// - prefill: a (1, PrefillTokens) forward, causal attention over the prompt;
// - decode: one token (1, 1) against a KV cache holding DecodeContext positions.
// Each entry is the median of `Repeats` timed calls after warm-up calls; the items are timed in rounds, in a seeded
// shuffled order per round, and each entry's median is taken over all its rounds, so a slow spell on a shared machine
// falls on different items. The table records the machine, libtorch threads and shapes, and is only valid there.
using System.Diagnostics;
using Condense.Core.IO;
using Condense.Core.Runtime;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>Settings of a latency measurement.</summary>
public sealed record LatencyOptions
{
    /// <summary>Prompt tokens of a prefill call.</summary>
    public int PrefillTokens { get; init; } = 128;
    /// <summary>Cached positions a decode call attends to.</summary>
    public int DecodeContext { get; init; } = 128;
    /// <summary>Timed calls per item and round.</summary>
    public int Repeats { get; init; } = 20;
    /// <summary>Untimed calls per item before its first round.</summary>
    public int Warmup { get; init; } = 5;
    /// <summary>Rounds over all items.</summary>
    public int Rounds { get; init; } = 3;
    /// <summary>Seed of the per-round order.</summary>
    public long Seed { get; init; }
}

/// <summary>One measured entry: milliseconds per call in prefill and decode.</summary>
public sealed record LatencyEntry(double PrefillMs, double DecodeMs);

/// <summary>Measured latencies per candidate width, and the prediction Lat(config) = fixed + Σ per-layer entries.</summary>
public sealed record LatencyTable(string Machine, int Threads, int Layers, int PrefillTokens, int DecodeContext,
    LatencyEntry Fixed, IReadOnlyDictionary<int, LatencyEntry> Attention, IReadOnlyDictionary<int, LatencyEntry> Mlp)
{
    /// <summary>The full model timed end to end (what <see cref="Fixed"/> is calibrated against).</summary>
    public LatencyEntry? FullModel { get; init; }

    /// <summary>Predicted milliseconds of one call of the sub-network at <paramref name="widths"/> (prefill or decode).</summary>
    public double Predict(ElasticWidths widths, bool decode)
    {
        ArgumentNullException.ThrowIfNull(widths);
        double Pick(LatencyEntry e) => decode ? e.DecodeMs : e.PrefillMs;
        double total = Pick(Fixed);
        foreach (var w in widths.Layers)
        {
            if (!Attention.TryGetValue(w.HeadGroups, out var a))
                throw new ArgumentException($"the latency table has no entry for {w.HeadGroups} head groups (it has {string.Join(", ", Attention.Keys)})");
            if (!Mlp.TryGetValue(w.MlpNeurons, out var m))
                throw new ArgumentException($"the latency table has no entry for {w.MlpNeurons} MLP neurons (it has {string.Join(", ", Mlp.Keys)})");
            total += Pick(a) + Pick(m);
        }
        return total;
    }

    /// <summary>Writes the table as JSON, atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(this, JsonOptions) + "\n");

    /// <summary>Reads a table written by <see cref="Save"/>; a file that is not one is a one-line error naming it.</summary>
    public static LatencyTable Load(string path)
    {
        if (!File.Exists(path)) throw new Core.InputException($"{path}: file not found");
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<LatencyTable>(File.ReadAllText(path), JsonOptions)
                ?? throw new Core.InputException($"{path}: empty latency table");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new Core.InputException($"{path}: not a latency table ({ex.Message.Split('\n')[0]})", ex);
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true, PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Measures every candidate width of <paramref name="candidates"/> for a model of <paramref name="config"/>.</summary>
    public static LatencyTable Measure(LlamaConfig config, ElasticCandidates candidates, LatencyOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PrefillTokens < 1 || options.PrefillTokens > config.MaxSeqLen)
            throw Core.InputException.ForOption(nameof(options.PrefillTokens), $"{options.PrefillTokens}: must be 1 .. {config.MaxSeqLen}");
        if (options.DecodeContext < 1 || options.DecodeContext >= config.MaxSeqLen)
            throw Core.InputException.ForOption(nameof(options.DecodeContext), $"{options.DecodeContext}: must be 1 .. {config.MaxSeqLen - 1}");
        if (options.Repeats < 1) throw Core.InputException.ForOption(nameof(options.Repeats), $"{options.Repeats}: must be at least 1");
        if (options.Rounds < 1) throw Core.InputException.ForOption(nameof(options.Rounds), $"{options.Rounds}: must be at least 1");
        using var noGrad = no_grad();
        var items = new List<(string Kind, int Units, LatencyProbe Probe)>();
        try
        {
            items.Add(("model", 0, LatencyProbe.FullModel(config, options)));
            foreach (var g in candidates.HeadUnits(config)) items.Add(("attention", g, LatencyProbe.Attention(config, g, options)));
            foreach (var k in candidates.MlpUnits(config)) items.Add(("mlp", k, LatencyProbe.Mlp(config, k, options)));
            var samples = TimeRounds(items.Select(i => i.Probe).ToList(), options, (ulong)options.Seed, "[latency]", log);
            LatencyEntry Entry(int i) => samples[i];
            var attention = Enumerable.Range(0, items.Count).Where(i => items[i].Kind == "attention").ToDictionary(i => items[i].Units, Entry);
            var mlp = Enumerable.Range(0, items.Count).Where(i => items[i].Kind == "mlp").ToDictionary(i => items[i].Units, Entry);
            var full = Entry(0);
            var fullAttention = attention[attention.Keys.Max()];
            var fullMlp = mlp[mlp.Keys.Max()];
            var fixedPart = new LatencyEntry(full.PrefillMs - config.NLayers * (fullAttention.PrefillMs + fullMlp.PrefillMs),
                full.DecodeMs - config.NLayers * (fullAttention.DecodeMs + fullMlp.DecodeMs));
            return new LatencyTable(MachineInfo.Describe(), get_num_threads(), config.NLayers, options.PrefillTokens, options.DecodeContext,
                fixedPart, attention, mlp) { FullModel = full };
        }
        finally
        {
            foreach (var item in items) item.Probe.Dispose();
        }
    }

    /// <summary>
    /// Warms every probe, then times each in <see cref="LatencyOptions.Rounds"/> rounds, in a seeded shuffled order per
    /// round so a slow spell on a shared machine falls on different probes; returns each probe's median prefill and decode ms.
    /// </summary>
    internal static LatencyEntry[] TimeRounds(IReadOnlyList<LatencyProbe> probes, LatencyOptions options, ulong seed, string label, Action<string>? log)
    {
        foreach (var probe in probes) probe.Warm(options.Warmup);
        var samples = probes.Select(_ => (Prefill: new List<double>(), Decode: new List<double>())).ToArray();
        var rng = new Core.Data.SplitMix64(seed);
        for (int round = 0; round < options.Rounds; round++)
        {
            var order = Enumerable.Range(0, probes.Count).ToArray();
            rng.Shuffle<int>(order);
            foreach (var i in order)
            {
                samples[i].Prefill.AddRange(probes[i].Time(decode: false, options.Repeats));
                samples[i].Decode.AddRange(probes[i].Time(decode: true, options.Repeats));
            }
            log?.Invoke($"{label} round {round + 1}/{options.Rounds}");
        }
        return samples.Select(s => new LatencyEntry(Median(s.Prefill), Median(s.Decode))).ToArray();
    }

    internal static double Median(List<double> v)
    {
        var sorted = v.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : 0.5 * (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]);
    }

    /// <summary>Milliseconds per call of <paramref name="action"/>, one sample per call.</summary>
    internal static IEnumerable<double> TimeCalls(Action action, int repeats)
    {
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return times;
    }
}

/// <summary>One timed block (fixed part, an attention block or an MLP block) with its inputs, prefill and decode.</summary>
internal sealed class LatencyProbe : IDisposable
{
    private readonly Action prefill;
    private readonly Action decode;
    private readonly IDisposable[] owned;

    private LatencyProbe(Action prefill, Action decode, params IDisposable[] owned)
    {
        this.prefill = prefill;
        this.decode = decode;
        this.owned = owned;
    }

    public void Warm(int calls)
    {
        for (int i = 0; i < calls; i++)
        {
            prefill();
            decode();
        }
    }

    public IEnumerable<double> Time(bool decode, int repeats) => LatencyTable.TimeCalls(decode ? this.decode : prefill, repeats);

    /// <summary>The whole model of <paramref name="config"/> (random weights): a T-token prefill, and one token against a filled KV cache.</summary>
    public static LatencyProbe FullModel(LlamaConfig config, LatencyOptions options)
    {
        var model = new LlamaForCausalLM(config with { LayerHiddenDims = null, LayerKvHeads = null });
        model.eval();
        return ForModel(model, options);
    }

    /// <summary>A whole model (owned by the probe from now on): a T-token prefill, and one token against a filled KV cache.</summary>
    public static LatencyProbe ForModel(LlamaForCausalLM model, LatencyOptions options)
    {
        var config = model.Config;
        var cache = model.NewCache(1, options.DecodeContext + 1);
        using (var scope = NewDisposeScope())
            model.Forward(randint(0, config.VocabSize, [1, options.DecodeContext]), cache);     // fill the context once
        var prompt = randint(0, config.VocabSize, [1, options.PrefillTokens]).DetachFromDisposeScope();
        var token = randint(0, config.VocabSize, [1, 1]).DetachFromDisposeScope();
        void Prefill()
        {
            using var scope = NewDisposeScope();
            model.Forward(prompt, null);
        }
        void Decode()
        {
            using var scope = NewDisposeScope();
            model.Forward(token, cache);
            cache.Advance(-1);                                                 // the same context for every call
        }
        return new LatencyProbe(Prefill, Decode, model, cache, prompt, token);
    }

    /// <summary>Pre-norm MLP block with <paramref name="neurons"/> neurons: norm, SwiGLU, residual add.</summary>
    public static LatencyProbe Mlp(LlamaConfig config, int neurons, LatencyOptions options)
    {
        var narrow = config with { LayerHiddenDims = Enumerable.Repeat(neurons, config.NLayers).ToArray(), LayerKvHeads = null };
        var mlp = new LlamaMLP(narrow);
        var norm = new LlamaRMSNorm(config.Dim, config.NormEps);
        var x = randn(1, options.PrefillTokens, config.Dim).DetachFromDisposeScope();
        var one = randn(1, 1, config.Dim).DetachFromDisposeScope();
        void Run(Tensor h)
        {
            using var scope = NewDisposeScope();
            _ = h + mlp.call(norm.call(h));
        }
        return new LatencyProbe(() => Run(x), () => Run(one), mlp, norm, x, one);
    }

    /// <summary>Pre-norm attention block with <paramref name="groups"/> KV heads: prefill over T tokens, decode against a filled cache.</summary>
    public static LatencyProbe Attention(LlamaConfig config, int groups, LatencyOptions options)
    {
        var narrow = config with { LayerKvHeads = Enumerable.Repeat(groups, config.NLayers).ToArray(), LayerHiddenDims = null, NLayers = 1 };
        var attn = new LlamaAttention(narrow);
        var norm = new LlamaRMSNorm(config.Dim, config.NormEps);
        var x = randn(1, options.PrefillTokens, config.Dim).DetachFromDisposeScope();
        var one = randn(1, 1, config.Dim).DetachFromDisposeScope();
        var (cosAll, sinAll) = Rope.CosSin(config, 0, Math.Max(options.PrefillTokens, options.DecodeContext + 1), CPU);
        cosAll.DetachFromDisposeScope();
        sinAll.DetachFromDisposeScope();
        var cache = new LlamaKvCache(narrow, 1, options.DecodeContext + 1, ScalarType.Float32, CPU);
        using (var scope = NewDisposeScope())
        {
            // Fill the cache to DecodeContext positions once; each decode call appends one and is then rolled back.
            var context = randn(1, options.DecodeContext, config.Dim);
            attn.Forward(norm.call(context), cosAll.narrow(0, 0, options.DecodeContext), sinAll.narrow(0, 0, options.DecodeContext), cache.Layer(0));
            cache.Advance(options.DecodeContext);
        }
        var layerCache = cache.Layer(0)!;
        void Prefill()
        {
            using var scope = NewDisposeScope();
            var T = options.PrefillTokens;
            _ = x + attn.Forward(norm.call(x), cosAll.narrow(0, 0, T), sinAll.narrow(0, 0, T), null);
        }
        void Decode()
        {
            using var scope = NewDisposeScope();
            int pos = options.DecodeContext;
            // Append writes position `pos` and reads 0..pos; the cache's Length stays at pos, so every call sees the same context.
            _ = one + attn.Forward(norm.call(one), cosAll.narrow(0, pos, 1), sinAll.narrow(0, pos, 1), layerCache);
        }
        return new LatencyProbe(Prefill, Decode, attn, norm, x, one, cosAll, sinAll, cache);
    }

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
    }
}
