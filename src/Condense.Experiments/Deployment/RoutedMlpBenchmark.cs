// What Flextron's per-token MLP routing costs on the native engine, by model size: a model whose routers send every token
// to MLP width k (tokens grouped by width, the router's two layers computed for every token as in a trained router)
// against the static sub-network whose MLPs have k neurons, and against the full model. Decode of one token runs one
// width, so a trained router's decode cost is the mix of these per-width costs weighted by how often it picks each;
// what this isolates is the overhead of routing itself (the router, the gather and scatter of grouped execution), which
// sets the smallest MLP saving routing can turn into speed. Weights are random (speed does not depend on them); decode
// alternates the engines token by token, prefill call by call, and ratios are taken per round.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Condense.Language.Elastic;
using Condense.Language.Models;
using Condense.Language.Native;
using static TorchSharp.torch;

namespace Condense.Experiments.Deployment;

/// <summary>How the routed-MLP benchmark runs.</summary>
public sealed record RoutedMlpBenchmarkOptions
{
    /// <summary>Models by name, as <see cref="DecodeBenchmarkOptions.Models"/>.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["llama2xs", "d288", "d1024"];

    /// <summary>Alternated rounds.</summary>
    public int Rounds { get; init; } = 15;

    /// <summary>Prompt tokens of the timed prefill.</summary>
    public int PrefillTokens { get; init; } = 64;

    /// <summary>Tokens decoded one at a time after the prompt; times are per token.</summary>
    public int DecodeTokens { get; init; } = 32;

    /// <summary>Native engine threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Where the random models' tokenizers go.</summary>
    public required string WorkDir { get; init; }

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One model at one routed MLP width.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Dim">Model width.</param>
/// <param name="Neurons">MLP neurons every token is routed to.</param>
/// <param name="HiddenDim">The full MLP's neurons.</param>
/// <param name="RoutedShare">Share of the MLP neurons the routed engine kept over all timed tokens (Neurons / HiddenDim when routing works).</param>
/// <param name="StaticDecodeMs">Median decode ms per token, static sub-network.</param>
/// <param name="RoutedDecodeMs">Median decode ms per token, routed model.</param>
/// <param name="FullDecodeMs">Median decode ms per token, full model.</param>
/// <param name="RoutedOverStaticDecode">Routed over static decode time, per round.</param>
/// <param name="StaticOverFullDecode">Static over full decode time, per round.</param>
/// <param name="RoutedOverStaticPrefill">Routed over static prefill time, per round.</param>
/// <param name="StaticOverFullPrefill">Static over full prefill time, per round.</param>
public sealed record RoutedMlpRow(string Model, int Dim, int Neurons, int HiddenDim, double RoutedShare, double StaticDecodeMs, double RoutedDecodeMs, double FullDecodeMs,
    IReadOnlyList<double> RoutedOverStaticDecode, IReadOnlyList<double> StaticOverFullDecode,
    IReadOnlyList<double> RoutedOverStaticPrefill, IReadOnlyList<double> StaticOverFullPrefill);

/// <summary>The benchmark's result.</summary>
/// <param name="Rows">Per model and width.</param>
/// <param name="Rounds">Rounds.</param>
/// <param name="PrefillTokens">Prompt tokens.</param>
/// <param name="DecodeTokens">Decoded tokens per round.</param>
/// <param name="Threads">Native engine threads.</param>
/// <param name="Machine">The machine.</param>
public sealed record RoutedMlpResult(IReadOnlyList<RoutedMlpRow> Rows, int Rounds, int PrefillTokens, int DecodeTokens, int Threads, string Machine);

/// <summary>Runs the routed-MLP benchmark.</summary>
public static class RoutedMlpBenchmark
{
    /// <summary>Neurons of each router's hidden layer, as <see cref="DynamicMlpRouters"/>'s default.</summary>
    private const int RouterHidden = 32;

    /// <summary>Every model of <paramref name="options"/> at each MLP width below the full one (Flextron's default candidates).</summary>
    public static RoutedMlpResult Run(RoutedMlpBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Rounds < 1) throw Condense.Core.InputException.ForOption(nameof(options.Rounds), $"{options.Rounds}: must be at least 1");
        if (options.Threads < 1) throw Condense.Core.InputException.ForOption(nameof(options.Threads), $"{options.Threads}: must be at least 1");
        if (options.PrefillTokens < 1 || options.DecodeTokens < 1)
            throw Condense.Core.InputException.ForOption(nameof(options.DecodeTokens), $"prefill {options.PrefillTokens}, decode {options.DecodeTokens}: both must be at least 1");
        var rows = new List<RoutedMlpRow>();
        foreach (var name in options.Models)
        {
            var (model, _) = DecodeBenchmark.Load(name, options.WorkDir);
            using (model)
                rows.AddRange(RunModel(name, model, options));
        }
        return new RoutedMlpResult(rows, options.Rounds, options.PrefillTokens, options.DecodeTokens, options.Threads, Condense.Core.Runtime.MachineInfo.Describe());
    }

    private static List<RoutedMlpRow> RunModel(string name, LlamaForCausalLM model, RoutedMlpBenchmarkOptions options)
    {
        using var noGrad = no_grad();
        var config = model.Config;
        if (options.PrefillTokens + options.DecodeTokens > config.MaxSeqLen)
            throw Condense.Core.InputException.ForOption(nameof(options.DecodeTokens),
                $"prefill {options.PrefillTokens} + decode {options.DecodeTokens} exceed {name}'s context of {config.MaxSeqLen}");
        var units = ElasticCandidates.Default.MlpUnits(config);
        var rng = new Random(17);
        var tokens = Enumerable.Range(0, options.PrefillTokens + options.DecodeTokens).Select(_ => rng.Next(3, config.VocabSize)).ToArray();
        var full = NativeLlama.FromModel(model, threads: options.Threads, packTwoFour: false);
        var elastic = new ElasticLlama(model);
        var widths = units[..^1];
        var statics = new NativeLlama[widths.Length];
        var routed = new NativeLlama[widths.Length];
        for (int i = 0; i < widths.Length; i++)
        {
            var layers = Enumerable.Range(0, config.NLayers).Select(_ => new LayerWidth(widths[i], config.NKvHeads)).ToArray();
            using (var narrow = elastic.Extract(new ElasticWidths(layers)))
                statics[i] = NativeLlama.FromModel(narrow, threads: options.Threads, packTwoFour: false);
            routed[i] = NativeLlama.FromModel(model, threads: options.Threads, packTwoFour: false);
            routed[i].RouteMlps(AlwaysRouter(config, units, i, seed: i));
        }

        // Engine order rotates each round; index 0 is the full model, then (static, routed) per width.
        var engines = new List<NativeLlama> { full };
        for (int i = 0; i < widths.Length; i++) engines.AddRange([statics[i], routed[i]]);
        var prefill = engines.Select(_ => new List<double>()).ToArray();
        var decode = engines.Select(_ => new List<double>()).ToArray();
        TimeRound(engines, tokens, options.PrefillTokens, 0);   // warm-up: JIT, page faults
        for (int round = 0; round < options.Rounds; round++)
        {
            var (p, d) = TimeRound(engines, tokens, options.PrefillTokens, round);
            for (int e = 0; e < engines.Count; e++)
            {
                prefill[e].Add(p[e]);
                decode[e].Add(d[e]);
            }
            options.Log?.Invoke($"[routed-mlp] {name} round {round + 1}/{options.Rounds}");
        }

        var rows = new List<RoutedMlpRow>();
        for (int i = 0; i < widths.Length; i++)
        {
            int s = 1 + 2 * i, r = s + 1;
            static List<double> Ratio(List<double> a, List<double> b) => a.Zip(b, (x, y) => x / y).ToList();
            rows.Add(new RoutedMlpRow(name, config.Dim, widths[i], config.HiddenDim,
                (double)routed[i].RoutedNeuronsKept / routed[i].RoutedNeuronsTotal, Median(decode[s]), Median(decode[r]), Median(decode[0]),
                Ratio(decode[r], decode[s]), Ratio(decode[s], decode[0]), Ratio(prefill[r], prefill[s]), Ratio(prefill[s], prefill[0])));
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"[routed-mlp] {name} MLP {widths[i]}/{config.HiddenDim}: decode routed/static {Median(rows[^1].RoutedOverStaticDecode):F3}, static/full {Median(rows[^1].StaticOverFullDecode):F3}"));
        }
        return rows;
    }

    // Per engine: prefill ms (the prompt in one call from an empty cache) and decode ms per token (the rest one token at a
    // time). Decode alternates the engines token by token, so that all of them see the same few milliseconds of this VM's
    // speed, which drifts by tens of percent over seconds; the order rotates with the round and the token.
    private static (double[] Prefill, double[] Decode) TimeRound(List<NativeLlama> engines, int[] tokens, int prompt, int round)
    {
        int n = engines.Count;
        var prefill = new double[n];
        var decode = new double[n];
        for (int j = 0; j < n; j++)
        {
            int e = (j + round) % n;
            engines[e].Reset();
            long start = Stopwatch.GetTimestamp();
            engines[e].Forward(tokens.AsSpan(0, prompt));
            prefill[e] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        for (int t = prompt; t < tokens.Length; t++)
            for (int j = 0; j < n; j++)
            {
                int e = (j + round + t) % n;
                long start = Stopwatch.GetTimestamp();
                engines[e].Forward(tokens[t]);
                decode[e] += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        for (int e = 0; e < n; e++) decode[e] /= tokens.Length - prompt;
        return (prefill, decode);
    }

    // Routers of the trained routers' shape that pick width `choice` for every token: a random first layer (computed for
    // every token, as a trained router's is), a zero second layer and a bias that makes `choice` the largest logit.
    private static NativeMlpRouting AlwaysRouter(LlamaConfig config, int[] units, int choice, int seed)
    {
        var rng = new Random(seed);
        int inputs = config.Dim + StaticRouters.Features;
        var layers = Enumerable.Range(0, config.NLayers).Select(_ => new NativeRouterLayer(
            Enumerable.Range(0, RouterHidden * inputs).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(),
            new float[RouterHidden],
            new float[units.Length * RouterHidden],
            Enumerable.Range(0, units.Length).Select(k => k == choice ? 1f : 0f).ToArray())).ToArray();
        return new NativeMlpRouting(layers, units, new float[StaticRouters.Features], config.Dim, NativeRoutedMlp.Grouped);
    }

    /// <summary>The result as a Markdown table.</summary>
    public static string Markdown(RoutedMlpResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"Machine: {result.Machine}; native engine, {result.Threads} thread(s), fp32, random weights; prefill of {result.PrefillTokens} tokens, then {result.DecodeTokens} tokens decoded one at a time, the engines alternating token by token (ms per token); medians of {result.Rounds} rounds, ratios per round.");
        md.AppendLine();
        md.AppendLine("| model | MLP neurons | decode ms, full | decode ms, static | decode ms, routed | static / full, decode | **routed / static, decode** (per round) | static / full, prefill | routed / static, prefill |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
            md.AppendLine(string.Create(inv, $"| {r.Model} (dim {r.Dim}) | {r.Neurons} of {r.HiddenDim} | {r.FullDecodeMs:F3} | {r.StaticDecodeMs:F3} | {r.RoutedDecodeMs:F3} | {Median(r.StaticOverFullDecode):F3} | **{Median(r.RoutedOverStaticDecode):F3}** ({string.Join(", ", r.RoutedOverStaticDecode.Select(v => v.ToString("F2", inv)))}) | {Median(r.StaticOverFullPrefill):F3} | {Median(r.RoutedOverStaticPrefill):F3} |"));
        return md.ToString();
    }

    private static double Median(IReadOnlyList<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);
}
