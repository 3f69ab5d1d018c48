// Flextron's latency lookup table (Cai et al., ICML 2024, section 3.2): the router's latency loss needs the latency of
// any sub-network without running it, so each layer's latency at each candidate width is measured once on the target
// hardware and a configuration's latency is their sum, Lat(config) = fixed + Σ_layers LUT[attention][g] + LUT[mlp][k]
// (attention keeping q of each group's query heads: LUT[query_attention]["gxq"]).
//
// How it is measured here: every decoder layer has the same shapes, so one attention block per head-group count and
// one MLP block per neuron count are timed and their times used for every layer (their position in the network does
// not change their cost). "Fixed" is calibrated, not summed from parts: the full model is timed end to end and fixed =
// full − Σ_layers (attention + MLP at full width), i.e. the embedding, final norm, classifier and every per-call cost
// the blocks do not see (a first version summed separately timed parts and under-predicted real sub-networks by
// 30-50% on stories260K). Being a difference of timings, it can come out negative on a noisy machine. A block inside
// the model also costs a little more than alone (its weights and KV cache share the caches with every other layer's),
// so the narrowest sub-network is timed end to end as well and the blocks' sum is scaled to pass through both points:
// Lat(config) = fixed + s · Σ_layers entries, s = (full − narrowest) / (Σ_full − Σ_narrowest). With s = 1 only, the
// native engine's table over-predicted narrow sub-networks' share of the full model's latency by about 9% on
// stories260K (Condense's deviation from the paper's plain sum; recorded as block_scale). Two modes, each per call of
// one row:
// - prefill: a (1, PrefillTokens) forward, causal attention over the prompt;
// - decode: one token (1, 1) against a KV cache holding DecodeContext positions.
// Two engines: `torch` times the TorchSharp modules (prefill is one batched forward), `native` times the engine
// `generate` runs by default (NativeLlama: one token at a time through SIMD loops, so prefill is T decode steps over a
// growing cache). A table is only valid for the engine it was measured on; routing for the torch engine at 64 wide
// mostly measures per-op overhead (see docs/results/flextron.md), the native engine's cost follows the arithmetic.
// Each item is timed in many short rounds (each a seeded shuffled pass over all items: Repeats decode calls each, then
// PrefillRepeats prefill calls each), and every round's median is divided by the full model's median in that same
// round; an entry is the median of those ratios times the full model's median over all rounds. On this shared 2-vCPU
// VM the whole machine runs up to 2x slower for seconds at a time (measured: the same engine instance's decode median
// moved from 0.13 to 0.25 ms between one-second windows), so only times taken within the same few milliseconds are
// comparable; a first version that took each item's median over 3 long rounds mixed such spells into its entries. The table records the machine, libtorch threads and shapes, and is only valid there.
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
    /// <summary>Timed decode calls per item and round.</summary>
    public int Repeats { get; init; } = 10;
    /// <summary>Timed prefill calls per item and round.</summary>
    public int PrefillRepeats { get; init; } = 2;
    /// <summary>Untimed calls per item before its first round.</summary>
    public int Warmup { get; init; } = 5;
    /// <summary>Rounds over all items.</summary>
    public int Rounds { get; init; } = 15;
    /// <summary>Seed of the per-round order.</summary>
    public long Seed { get; init; }
    /// <summary>The inference engine timed.</summary>
    public LatencyEngine Engine { get; init; } = LatencyEngine.Native;
    /// <summary>Threads of the native engine's matrix-vector products (the torch engine uses libtorch's setting).</summary>
    public int NativeThreads { get; init; } = 1;
}

/// <summary>Which engine a latency table times (in JSON: "torch" or "native", in every serializer's output).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LatencyEngineJsonConverter))]
public enum LatencyEngine
{
    /// <summary>The TorchSharp modules (batched prefill).</summary>
    Torch,
    /// <summary>The native batch-1 engine (<see cref="Native.NativeLlama"/>), what <c>generate</c> runs.</summary>
    Native,
}

/// <summary>Writes <see cref="LatencyEngine"/> as its lower-case name.</summary>
public sealed class LatencyEngineJsonConverter() : System.Text.Json.Serialization.JsonStringEnumConverter<LatencyEngine>(System.Text.Json.JsonNamingPolicy.SnakeCaseLower);

/// <summary>One measured entry: milliseconds per call in prefill and decode.</summary>
public sealed record LatencyEntry(double PrefillMs, double DecodeMs);

/// <summary>Measured latencies per candidate width, and the prediction Lat(config) = fixed + Σ per-layer entries.</summary>
public sealed record LatencyTable(string Machine, int Threads, int Layers, int PrefillTokens, int DecodeContext,
    LatencyEntry Fixed, IReadOnlyDictionary<int, LatencyEntry> Attention, IReadOnlyDictionary<int, LatencyEntry> Mlp)
{
    /// <summary>The full model timed end to end (what <see cref="Fixed"/> is calibrated against).</summary>
    public LatencyEntry? FullModel { get; init; }

    /// <summary>The narrowest sub-network timed end to end (with <see cref="FullModel"/>, what <see cref="BlockScale"/> is calibrated on).</summary>
    public LatencyEntry? NarrowModel { get; init; }

    /// <summary>The factor s on the blocks' sum, per mode (1 in tables written before it was calibrated).</summary>
    public LatencyEntry BlockScale { get; init; } = new(1, 1);

    /// <summary>The engine the entries were measured on (tables written before engines were recorded are torch's).</summary>
    public LatencyEngine Engine { get; init; } = LatencyEngine.Torch;

    /// <summary>
    /// Attention blocks that keep fewer query heads per group than the model, by <see cref="LayerWidth.AttentionKey"/>
    /// ("gxq"); null in tables of whole groups only (<see cref="Attention"/> holds those, by group count).
    /// </summary>
    public IReadOnlyDictionary<string, LatencyEntry>? QueryAttention { get; init; }

    /// <summary>The entry of <paramref name="width"/>'s attention block; throws naming the width when the table has none.</summary>
    public LatencyEntry AttentionEntry(LayerWidth width) => FindAttention(width) ??
        throw new ArgumentException($"the latency table has no entry for attention {width.AttentionKey} (it has " +
            string.Join(", ", Attention.Keys.Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).Concat(QueryAttention?.Keys ?? [])) + ")");

    /// <summary>Whether the table has an entry for <paramref name="width"/>'s attention block.</summary>
    public bool HasAttention(LayerWidth width) => FindAttention(width) is not null;

    // Whole groups by group count, partial groups by "gxq".
    private LatencyEntry? FindAttention(LayerWidth width)
    {
        LatencyEntry? entry = null;
        if (width.QueryHeads == 0) Attention.TryGetValue(width.HeadGroups, out entry);
        else QueryAttention?.TryGetValue(width.AttentionKey, out entry);
        return entry;
    }

    /// <summary>Predicted milliseconds of one call of the sub-network at <paramref name="widths"/> (prefill or decode).</summary>
    public double Predict(ElasticWidths widths, bool decode)
    {
        ArgumentNullException.ThrowIfNull(widths);
        double Pick(LatencyEntry e) => decode ? e.DecodeMs : e.PrefillMs;
        double blocks = 0;
        foreach (var w in widths.Layers)
        {
            var a = AttentionEntry(w);
            if (!Mlp.TryGetValue(w.MlpNeurons, out var m))
                throw new ArgumentException($"the latency table has no entry for {w.MlpNeurons} MLP neurons (it has {string.Join(", ", Mlp.Keys)})");
            blocks += Pick(a) + Pick(m);
        }
        return Pick(Fixed) + Pick(BlockScale) * blocks;
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
        if (options.PrefillRepeats < 1) throw Core.InputException.ForOption(nameof(options.PrefillRepeats), $"{options.PrefillRepeats}: must be at least 1");
        if (options.Rounds < 1) throw Core.InputException.ForOption(nameof(options.Rounds), $"{options.Rounds}: must be at least 1");
        if (options.NativeThreads < 1) throw Core.InputException.ForOption(nameof(options.NativeThreads), $"{options.NativeThreads}: must be at least 1");
        using var noGrad = no_grad();
        var items = new List<(string Kind, LayerWidth Units, LatencyProbe Probe)>();
        try
        {
            items.Add(("model", default, LatencyProbe.FullModel(config, options)));
            var smallest = candidates.Smallest(config);
            var narrowModel = new LlamaForCausalLM(smallest.SubNetworkConfig(config));
            narrowModel.eval();
            items.Add(("narrowest", default, LatencyProbe.ForModel(narrowModel, options)));
            foreach (var a in candidates.AttentionUnits(config)) items.Add(("attention", a, LatencyProbe.Attention(config, a.HeadGroups, options, a.QueryHeads)));
            foreach (var k in candidates.MlpUnits(config)) items.Add(("mlp", new LayerWidth(k, 0), LatencyProbe.Mlp(config, k, options)));
            var samples = TimeRounds(items.Select(i => i.Probe).ToList(), options, (ulong)options.Seed, "[latency]", log, reference: 0);
            LatencyEntry Entry(int i) => samples[i];
            var attentionItems = Enumerable.Range(0, items.Count).Where(i => items[i].Kind == "attention").ToList();
            var attention = attentionItems.Where(i => items[i].Units.QueryHeads == 0).ToDictionary(i => items[i].Units.HeadGroups, Entry);
            var queryAttention = attentionItems.Where(i => items[i].Units.QueryHeads != 0).ToDictionary(i => items[i].Units.AttentionKey, Entry);
            var mlp = Enumerable.Range(0, items.Count).Where(i => items[i].Kind == "mlp").ToDictionary(i => items[i].Units.MlpNeurons, Entry);
            var full = Entry(0);
            var narrow = Entry(1);
            var (wideA, wideM) = (attention[attention.Keys.Max()], mlp[mlp.Keys.Max()]);
            var thinM = mlp[mlp.Keys.Min()];
            var thinA = Entry(attentionItems.First(i => items[i].Units == smallest.Layers[0] with { MlpNeurons = 0 }));
            int L = config.NLayers;
            // Two points, two unknowns per mode; one candidate width (or a noisy, non-positive slope) keeps s = 1.
            double Scale(double fullMs, double narrowMs, double wide, double thin)
            {
                double s = L * (wide - thin) > 0 ? (fullMs - narrowMs) / (L * (wide - thin)) : 1;
                return s > 0 && double.IsFinite(s) ? s : 1;
            }
            var scale = new LatencyEntry(Scale(full.PrefillMs, narrow.PrefillMs, wideA.PrefillMs + wideM.PrefillMs, thinA.PrefillMs + thinM.PrefillMs),
                Scale(full.DecodeMs, narrow.DecodeMs, wideA.DecodeMs + wideM.DecodeMs, thinA.DecodeMs + thinM.DecodeMs));
            var fixedPart = new LatencyEntry(full.PrefillMs - scale.PrefillMs * L * (wideA.PrefillMs + wideM.PrefillMs),
                full.DecodeMs - scale.DecodeMs * L * (wideA.DecodeMs + wideM.DecodeMs));
            int threads = options.Engine == LatencyEngine.Native ? options.NativeThreads : get_num_threads();
            return new LatencyTable(MachineInfo.Describe(), threads, config.NLayers, options.PrefillTokens, options.DecodeContext,
                fixedPart, attention, mlp)
            {
                FullModel = full, NarrowModel = narrow, BlockScale = scale, Engine = options.Engine,
                QueryAttention = queryAttention.Count > 0 ? queryAttention : null,
            };
        }
        finally
        {
            foreach (var item in items) item.Probe.Dispose();
        }
    }

    /// <summary>
    /// Warms every probe, then times each in <see cref="LatencyOptions.Rounds"/> short rounds, in a seeded shuffled order
    /// per round; returns each probe's median prefill and decode ms. With <paramref name="reference"/>, each round's
    /// median is taken relative to the reference probe's in the same round (see the file header) and scaled by the
    /// reference's overall median, so a slow spell of the machine cancels out.
    /// </summary>
    internal static LatencyEntry[] TimeRounds(IReadOnlyList<LatencyProbe> probes, LatencyOptions options, ulong seed, string label, Action<string>? log,
        int? reference = null)
    {
        foreach (var probe in probes) probe.Warm(options.Warmup);
        var prefill = probes.Select(_ => new List<double>()).ToArray();   // per probe: one median per round
        var decode = probes.Select(_ => new List<double>()).ToArray();
        var rng = new Core.Data.SplitMix64(seed);
        int every = Math.Max(1, options.Rounds / 5);
        for (int round = 0; round < options.Rounds; round++)
        {
            var order = Enumerable.Range(0, probes.Count).ToArray();
            rng.Shuffle<int>(order);
            foreach (var i in order) decode[i].Add(Median(probes[i].Time(decode: true, options.Repeats).ToList()));
            rng.Shuffle<int>(order);
            foreach (var i in order) prefill[i].Add(Median(probes[i].Time(decode: false, options.PrefillRepeats).ToList()));
            if ((round + 1) % every == 0 || round + 1 == options.Rounds) log?.Invoke($"{label} round {round + 1}/{options.Rounds}");
        }
        double Combine(List<double>[] rounds, int i)
        {
            if (reference is not int r) return Median(rounds[i]);
            var ratios = rounds[i].Zip(rounds[r], (x, y) => x / y).ToList();
            return Median(ratios) * Median(rounds[r]);
        }
        return Enumerable.Range(0, probes.Count).Select(i => new LatencyEntry(Combine(prefill, i), Combine(decode, i))).ToArray();
    }

    internal static double Median(List<double> v)
    {
        var sorted = v.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : 0.5 * (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]);
    }

    /// <summary>Milliseconds per call of <paramref name="action"/>, one sample per call; <paramref name="untimedAfter"/> runs after each call, outside the clock.</summary>
    internal static IEnumerable<double> TimeCalls(Action action, int repeats, Action? untimedAfter = null)
    {
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            untimedAfter?.Invoke();
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
            AfterPrefill?.Invoke();
            decode();
        }
    }

    /// <summary>Untimed work after each prefill call that decode relies on (the native whole model refills its cache).</summary>
    private Action? AfterPrefill { get; init; }

    /// <summary>Tokens one decode call forwards; its time is reported per token.</summary>
    private int DecodeTokens { get; init; } = 1;

    public IEnumerable<double> Time(bool decode, int repeats) =>
        decode ? LatencyTable.TimeCalls(this.decode, repeats).Select(ms => ms / DecodeTokens) : LatencyTable.TimeCalls(prefill, repeats, AfterPrefill);

    /// <summary>The whole model of <paramref name="config"/> (random weights): a T-token prefill, and one token against a filled KV cache.</summary>
    public static LatencyProbe FullModel(LlamaConfig config, LatencyOptions options)
    {
        var model = new LlamaForCausalLM(config.WithoutLayerWidths());
        model.eval();
        return ForModel(model, options);
    }

    /// <summary>A whole model (owned by the probe from now on): a T-token prefill, and one token against a filled KV cache.</summary>
    public static LatencyProbe ForModel(LlamaForCausalLM model, LatencyOptions options) =>
        options.Engine == LatencyEngine.Native ? NativeModel(model, options) : TorchModel(model, options);

    /// <summary>Pre-norm MLP block with <paramref name="neurons"/> neurons: norm, SwiGLU, residual add.</summary>
    public static LatencyProbe Mlp(LlamaConfig config, int neurons, LatencyOptions options) =>
        options.Engine == LatencyEngine.Native ? NativeBlock(config, neurons, config.NKvHeads, attention: false, options) : TorchMlp(config, neurons, options);

    /// <summary>
    /// Pre-norm attention block with <paramref name="groups"/> KV heads, each with all its query heads or
    /// <paramref name="queriesPerGroup"/> of them: prefill over T tokens, decode against a filled cache.
    /// </summary>
    public static LatencyProbe Attention(LlamaConfig config, int groups, LatencyOptions options, int queriesPerGroup = 0) =>
        options.Engine == LatencyEngine.Native
            ? NativeBlock(config, config.HiddenDim, groups, attention: true, options, queriesPerGroup)
            : TorchAttention(config, groups, options, queriesPerGroup);

    // The native engine over a model's weights (the TorchSharp model is disposed once copied): prefill forwards T
    // tokens from an empty cache, decode forwards one token at position DecodeContext and rewinds to it.
    private static LatencyProbe NativeModel(LlamaForCausalLM model, LatencyOptions options)
    {
        Native.NativeLlama engine;
        using (model) engine = Native.NativeLlama.FromModel(model, threads: options.NativeThreads);
        return ForEngine(engine, Tokens(engine.Config, Math.Max(options.PrefillTokens, options.DecodeContext + 1)), options);
    }

    /// <summary>
    /// A native engine as it is (e.g. with per-token routers set): prefill forwards the first PrefillTokens of
    /// <paramref name="tokens"/> from an empty cache; decode forwards the <paramref name="decodeTokens"/> tokens from
    /// position DecodeContext one at a time, rewinds to it, and counts per token (more than one where the cost depends on
    /// the token, as with per-token routers).
    /// </summary>
    public static LatencyProbe ForEngine(Native.NativeLlama engine, int[] tokens, LatencyOptions options, int decodeTokens = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeTokens, 1);
        int needed = Math.Max(options.PrefillTokens, options.DecodeContext + decodeTokens);
        if (tokens.Length < needed) throw new ArgumentException($"{tokens.Length} tokens; the probe needs {needed}", nameof(tokens));
        void Forward(int count)
        {
            engine.Reset();
            engine.Forward(tokens.AsSpan(0, count));   // in blocks, as generate prefills
        }
        void FillContext() => Forward(options.DecodeContext);   // what decode expects: DecodeContext positions cached
        void Decode()
        {
            for (int i = 0; i < decodeTokens; i++) engine.Forward(tokens[options.DecodeContext + i]);
            engine.Rewind(options.DecodeContext);
        }
        FillContext();
        return new LatencyProbe(() => Forward(options.PrefillTokens), Decode) { AfterPrefill = FillContext, DecodeTokens = decodeTokens };
    }

    // One attention or MLP block of the native engine, in a one-layer model with the candidate width.
    private static LatencyProbe NativeBlock(LlamaConfig config, int neurons, int groups, bool attention, LatencyOptions options, int queriesPerGroup = 0)
    {
        var one = config with
        {
            NLayers = 1, LayerHiddenDims = [neurons], LayerKvHeads = [groups], RemovedAttention = null, RemovedMlp = null,
            LayerQueryHeads = queriesPerGroup > 0 ? [groups * queriesPerGroup] : null,
        };
        Native.NativeLlama engine;
        using (var model = new LlamaForCausalLM(one)) engine = Native.NativeLlama.FromModel(model, threads: options.NativeThreads);
        var tokens = Tokens(config, Math.Max(options.PrefillTokens, options.DecodeContext + 1));
        // Positions [0, count) in the engine's blocks, as a prompt runs.
        void Blocks(int count)
        {
            for (int start = 0; start < count; start += Native.NativeLlama.BlockTokens)
            {
                var span = tokens.AsSpan(start, Math.Min(Native.NativeLlama.BlockTokens, count - start));
                if (attention) engine.ForwardAttentionBlock(0, span, start);
                else engine.ForwardMlpBlock(0, span);
            }
        }
        if (attention) Blocks(options.DecodeContext);   // fill the cache once
        void Prefill() => Blocks(options.PrefillTokens);
        void Decode()
        {
            var next = tokens.AsSpan(options.DecodeContext, 1);
            if (attention) engine.ForwardAttentionBlock(0, next, options.DecodeContext);
            else engine.ForwardMlpBlock(0, next);
        }
        return new LatencyProbe(Prefill, Decode);
    }

    private static int[] Tokens(LlamaConfig config, int count)
    {
        var rng = new Core.Data.SplitMix64(0x70CE75UL);
        return Enumerable.Range(0, count).Select(_ => (int)(rng.NextDouble() * config.VocabSize) % config.VocabSize).ToArray();
    }

    private static LatencyProbe TorchModel(LlamaForCausalLM model, LatencyOptions options)
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

    private static LatencyProbe TorchMlp(LlamaConfig config, int neurons, LatencyOptions options)
    {
        var narrow = config.WithoutLayerWidths() with { LayerHiddenDims = Enumerable.Repeat(neurons, config.NLayers).ToArray() };
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

    private static LatencyProbe TorchAttention(LlamaConfig config, int groups, LatencyOptions options, int queriesPerGroup = 0)
    {
        var narrow = config with
        {
            LayerKvHeads = [groups], LayerHiddenDims = null, NLayers = 1,
            LayerQueryHeads = queriesPerGroup > 0 ? [groups * queriesPerGroup] : null,
        };
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
