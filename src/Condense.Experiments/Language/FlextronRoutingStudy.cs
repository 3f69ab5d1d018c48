// `condense study flextron-routing`: do Flextron's static routers deliver sub-networks that meet their latency budget
// (issue 14's target: measured decode latency within ±10% of budget × the full model's measured latency)? And do
// Condense's choices in router training matter: straight-through hard samples (against the soft Gumbel mixture), the
// absolute latency loss (against the square), and a quarter of the budget draws at exactly 1 (against uniform draws
// alone, which leave the routers short of the full model at the 100% budget)?
//
// Per seed and variant, on one elastic model and one latency table (both given):
// - routers: ElasticJob.TrainRouters (surrogate, routers through it, joint fine-tune), decode latency, that seed;
// - evaluation: ElasticJob.EvaluateRouted: each budget's routed sub-network extracted; its PPL on the evaluation text
//   (routers and model never trained on it); its decode latency on the table's engine measured end to end, with the
//   full model timed in the same rounds (the target is budget × that).
// The variants share seeds (the same budget draws, windows and router initialisation), so they are paired by seed.
// A budget below the narrowest sub-network's share of the full model's latency cannot be met by width alone; the
// table's own estimate of that share is printed with the results.
using System.Globalization;
using Condense.Core;
using Condense.Core.Reports;
using Condense.Experiments.Statistics;
using Condense.Language.Elastic;

namespace Condense.Experiments.Language;

/// <summary>One budget of one variant and seed.</summary>
public sealed record FlextronRoutingRow(string Variant, long Seed, double Budget, string Widths, long Parameters, double Perplexity,
    double PredictedMs, double MeasuredMs, double TargetMs)
{
    /// <summary>measured / target − 1.</summary>
    public double TargetError => MeasuredMs / TargetMs - 1;
}

/// <summary>What the study measured.</summary>
public sealed record FlextronRoutingResult(string ElasticModel, string LatencyTable, string Engine, int Threads, string Machine, int Seeds,
    int EvalDocuments, double NarrowestShare, IReadOnlyList<FlextronRoutingRow> Rows)
{
    /// <summary>The first seed (seeds run from it; 0 in results written before it was recorded).</summary>
    public long FirstSeed { get; init; }
}

/// <summary>Settings of the study.</summary>
public sealed record FlextronRoutingStudyOptions
{
    /// <summary>The elastic model folder (elastic/ of `elastic train`).</summary>
    public required string ElasticDir { get; init; }
    /// <summary>The latency table (`elastic latency --out`).</summary>
    public required string LatencyPath { get; init; }
    /// <summary>Where the routed models go (reused when present).</summary>
    public required string RunDir { get; init; }
    /// <summary>Seeds per variant.</summary>
    public int Seeds { get; init; } = 5;
    /// <summary>The first seed: seeds run from it (a later range checks a pick made on an earlier one).</summary>
    public long FirstSeed { get; init; }
    /// <summary>Which of <see cref="FlextronRoutingStudy.Variants"/> to run (null: all), compared with the first of them.</summary>
    public IReadOnlyList<string>? Variants { get; init; }
    /// <summary>Budgets evaluated (fractions of the full model's latency).</summary>
    public IReadOnlyList<double> Budgets { get; init; } = [0.25, 0.5, 0.75, 1.0];
    /// <summary>Router training text.</summary>
    public required string TrainText { get; init; }
    /// <summary>Evaluation text.</summary>
    public required string EvalText { get; init; }
    /// <summary>First N evaluation documents (0: all).</summary>
    public int EvalDocs { get; init; } = 200;
    /// <summary>Timing rounds of the evaluation (each a shuffled pass over the full model and the routed sub-networks).</summary>
    public int TimingRounds { get; init; } = 15;
}

/// <summary>Routed sub-networks against their latency targets, straight-through against soft router training.</summary>
public static class FlextronRoutingStudy
{
    /// <summary>
    /// The router-training variants: Condense's default first (straight-through samples, squared latency loss), then the
    /// soft Gumbel mixture (the research notes' form; removes the straight-through choice) and the absolute latency loss
    /// (the other form the paper allows), the default with a quarter of the budget draws at exactly 1, and the default
    /// with the latency error taken relative to the budget's target instead of the full model's latency, squared and
    /// absolute.
    /// </summary>
    public static readonly IReadOnlyList<string> Variants =
        ["straight-through, squared", "soft, squared", "straight-through, |·|", "straight-through, squared, 25% at full", "straight-through, squared, of target",
         "straight-through, |·|, of target", "straight-through, |·|, of target, 25% at full"];

    private static RouterTrainingOptions Training(string variant, long seed) => new()
    {
        DecodeLatency = true, Seed = seed, SoftSamples = variant.StartsWith("soft", StringComparison.Ordinal),
        AbsoluteLatencyLoss = variant.Contains("|·|", StringComparison.Ordinal),
        FullBudgetShare = variant.Contains("25% at full", StringComparison.Ordinal) ? 0.25 : 0,
        LatencyOfTarget = variant.Contains("of target", StringComparison.Ordinal),
    };

    // straight-through-squared, soft-squared, straight-through-absolute, straight-through-squared-25-full, straight-through-squared-of-target, straight-through-absolute-of-target, straight-through-absolute-of-target-25-full.
    private static string Folder(string variant) => variant.Replace(", ", "-", StringComparison.Ordinal).Replace("|·|", "absolute", StringComparison.Ordinal)
        .Replace("% at full", "-full", StringComparison.Ordinal).Replace(' ', '-');

    /// <summary>Trains (or reuses) every variant and seed's routers and evaluates every budget.</summary>
    public static FlextronRoutingResult Run(FlextronRoutingStudyOptions o, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Seeds < 1) throw InputException.ForOption("Seeds", $"{o.Seeds}: must be at least 1");
        if (o.FirstSeed < 0) throw InputException.ForOption("FirstSeed", $"{o.FirstSeed}: must be at least 0");
        foreach (var v in o.Variants ?? [])
            if (!Variants.Contains(v)) throw InputException.ForOption("Variants", $"'{v}': not a variant (the variants: {string.Join("; ", Variants)})");
        var variants = o.Variants is null ? Variants : Variants.Where(o.Variants.Contains).ToList();
        if (variants.Count == 0) throw InputException.ForOption("Variants", ": name at least one variant");
        foreach (var b in o.Budgets)
            if (!(b > 0 && b <= 1)) throw InputException.ForOption("Budgets", $"{b}: each budget must be in (0, 1]");
        var table = LatencyTable.Load(o.LatencyPath);
        if (table.FullModel is null || table.NarrowModel is null)
            throw InputException.ForOption("LatencyPath", $"{o.LatencyPath}: a table without end-to-end timings of the full and narrowest model (measure it again with `elastic latency`)");
        var rows = new List<FlextronRoutingRow>();
        foreach (var variant in variants)
            for (long seed = o.FirstSeed; seed < o.FirstSeed + o.Seeds; seed++)
            {
                var dir = Path.Combine(o.RunDir, $"{Folder(variant)}-seed-{seed}");
                if (!File.Exists(Path.Combine(dir, ElasticJob.LatencyFile)))   // written last
                {
                    log?.Invoke($"[routing] {variant}, seed {seed}: training routers");
                    ElasticJob.TrainRouters(o.ElasticDir, o.LatencyPath, dir, o.TrainText, Training(variant, seed), log);
                }
                else log?.Invoke($"[routing] {variant}, seed {seed}: reusing {dir}");
                var (model, tokenizer, _, metadata) = ElasticJob.Load(dir);
                using var _ = model.Model;
                var (routers, lut) = ElasticJob.LoadRouters(dir, model.Config, metadata.Candidates);
                using var __ = routers;
                var timing = new LatencyOptions
                {
                    PrefillTokens = lut.PrefillTokens, DecodeContext = lut.DecodeContext, Engine = lut.Engine, NativeThreads = lut.Threads,
                    Rounds = o.TimingRounds, Seed = seed,
                };
                foreach (var r in ElasticJob.EvaluateRouted(model, routers, lut, metadata.Candidates, tokenizer, o.EvalText, o.Budgets, decode: true, timing, o.EvalDocs, log))
                    rows.Add(new FlextronRoutingRow(variant, seed, r.Budget, r.Widths, r.Parameters, r.Perplexity, r.PredictedMs, r.MeasuredMs, r.TargetMs));
            }
        return new FlextronRoutingResult(Path.GetFullPath(o.ElasticDir), Path.GetFullPath(o.LatencyPath), table.Engine.ToString().ToLowerInvariant(), table.Threads,
            table.Machine, o.Seeds, o.EvalDocs, table.NarrowModel.DecodeMs / table.FullModel.DecodeMs, rows) { FirstSeed = o.FirstSeed };
    }

    /// <summary>Per budget and variant: latency against target and PPL over seeds; the variants paired on |error|.</summary>
    public static string ToMarkdown(FlextronRoutingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var ci = CultureInfo.InvariantCulture;
        string Pm(IEnumerable<double> values, string format)
        {
            var (m, s) = SeedStatistics.MeanStd(values.ToList());
            return $"{m.ToString(format, ci)} ± {s.ToString(format, ci)}";
        }
        var sb = new System.Text.StringBuilder();
        sb.Append(ci, $"Decode latency of the {result.Engine} engine ({result.Threads} thread(s)) on {result.Machine}; {result.Seeds} seeds per variant");
        if (result.FirstSeed > 0) sb.Append(ci, $" ({result.FirstSeed} to {result.FirstSeed + result.Seeds - 1})");
        sb.Append("; ");
        sb.Append(ci, $"PPL on the first {result.EvalDocuments} evaluation documents. The narrowest sub-network the candidates allow costs ");
        sb.Append(ci, $"{result.NarrowestShare:P0} of the full model's decode latency (the table's end-to-end timings), so budgets below that cannot be met by width alone.\n\n");
        var md = new MarkdownTable("budget", "variant", "measured vs target, per seed", "mean", "within ±10%", "PPL", "routed sub-network (seed 0)");
        foreach (var b in result.Rows.Select(r => r.Budget).Distinct().Order())
            foreach (var variant in Variants)
            {
                var rows = result.Rows.Where(r => r.Budget == b && r.Variant == variant).OrderBy(r => r.Seed).ToList();
                if (rows.Count == 0) continue;
                md.AddRow(b.ToString("P0", ci), variant, string.Join(", ", rows.Select(r => SignedFormat.Percent(r.TargetError))), SignedFormat.Percent(rows.Average(r => r.TargetError)),
                    $"{rows.Count(r => Math.Abs(r.TargetError) <= 0.10)}/{rows.Count}", Pm(rows.Select(r => r.Perplexity), "F2"), rows[0].Widths);
            }
        sb.Append(md).Append('\n');
        // Each variant against the first one present (the default when all ran).
        var present = Variants.Where(v => result.Rows.Any(r => r.Variant == v)).ToList();
        var reference = present[0];
        var paired = new MarkdownTable("budget", "ablation", $"|error|: {reference}", "ablation's", "difference (95% t interval)", "reading");
        foreach (var b in result.Rows.Select(r => r.Budget).Distinct().Order())
            foreach (var ablation in present.Skip(1))
            {
                List<double> Abs(string variant) => result.Rows.Where(r => r.Budget == b && r.Variant == variant).OrderBy(r => r.Seed).Select(r => Math.Abs(r.TargetError)).ToList();
                var (main, other) = (Abs(reference), Abs(ablation));
                if (main.Count != other.Count || main.Count == 0) continue;
                var (mean, low, high) = PairedStatistics.PairedInterval(main, other);
                string reading = high < 0 ? $"{reference} closer" : low > 0 ? $"{ablation} closer" : "tie";
                paired.AddRow(b.ToString("P0", ci), ablation, main.Average().ToString("P1", ci), other.Average().ToString("P1", ci),
                    $"{SignedFormat.Points(mean * 100)} points [{SignedFormat.Points(low * 100)}, {SignedFormat.Points(high * 100)}]", reading);
            }
        sb.Append('\n').Append(paired);
        return sb.ToString();
    }

    /// <summary>
    /// PPL against measured decode latency as a share of the full model's (timed in the same rounds, so the VM's speed
    /// changes cancel), one line per variant (seed means per budget).
    /// </summary>
    public static void Plot(string path, FlextronRoutingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var series = Variants.Where(variant => result.Rows.Any(r => r.Variant == variant)).Select(variant =>
        {
            var points = result.Rows.Where(r => r.Variant == variant).GroupBy(r => r.Budget).OrderBy(g => g.Key)
                .Select(g => (X: g.Average(r => r.MeasuredMs / (r.TargetMs / r.Budget)) * 100, Y: g.Average(r => r.Perplexity))).ToList();
            return new PlotSeries(variant, points.Select(p => p.X).ToList(), points.Select(p => p.Y).ToList());
        }).ToList();
        Plots.LineChart(path, "Routed sub-networks: PPL against latency", "measured decode latency (% of the full model's)", "PPL", series, logY: false);
    }
}
