// HyperTrick against random search, ASHA, Hyperband and median stopping on the paper's domain: A2C agents learning
// classic-control tasks, the search spanning learning rate, discount, n-step length and entropy weight. Design:
//  * Paired by study seed: every method draws the same configuration for trial n, and trial n trains identically
//    under every method (its seed is the study seed and n), so methods differ only in which trials they stop.
//  * Equal compute: random search runs its trials to the end; its total environment steps are every other method's
//    budget (they start new trials until it is spent).
//  * Virtual workers (VirtualCluster): phases really train, but time is measured in environment steps, so the
//    utilization and compute numbers replay exactly on any machine.
//  * Selection and report on different data: a method selects its best trial by its training return (the trailing
//    window); the selected configuration is then trained afresh with held-out seeds, shared by all methods, and that
//    return is what the comparison reports.
using Condense.Core;
using Condense.Core.Reports;
using Condense.Experiments.Statistics;
using Condense.Search.Rl;
using Condense.Search.Running;
using Condense.Search.Studies;

namespace Condense.Experiments.Search;

/// <summary>The study's settings.</summary>
/// <param name="Environments">Tasks ("cartpole", "acrobot").</param>
/// <param name="Methods">Scheduler specs; the first random(...) one sets the compute budget.</param>
/// <param name="Seeds">Study seeds (pairs).</param>
/// <param name="Workers">Virtual workers.</param>
/// <param name="RandomTrials">Trials random search runs to the end.</param>
/// <param name="Phases">Phases per trial.</param>
/// <param name="PhaseSteps">Environment steps per phase.</param>
/// <param name="HeldOutSeeds">Fresh trainings of each selected configuration.</param>
public sealed record HyperTrickStudyOptions(IReadOnlyList<string> Environments, IReadOnlyList<string> Methods, int Seeds = 5, int Workers = 4,
    int RandomTrials = 24, int Phases = 9, long PhaseSteps = 20_000, int HeldOutSeeds = 3)
{
    /// <summary>The methods compared by default (phases filled in by <see cref="WithPhases"/>).</summary>
    public static readonly IReadOnlyList<string> DefaultMethods = ["random", "hypertrick(r=0.5)", "asha(eta=3)", "hyperband(eta=3)", "median"];

    /// <summary>A method spec with this study's phase count added.</summary>
    public string WithPhases(string method)
    {
        var open = method.IndexOf('(', StringComparison.Ordinal);
        return open < 0 ? $"{method}(phases={Phases})" : $"{method[..open]}(phases={Phases},{method[(open + 1)..]}";
    }

    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Environments.Count == 0) throw new InputException("Environments: none given");
        foreach (var e in Environments) Condense.Search.Rl.Environments.Create(e);
        if (!Methods.Any(m => m.StartsWith("random", StringComparison.Ordinal))) throw new InputException("Methods: random search is the budget and the reference; include it");
        foreach (var m in Methods) SchedulerSpec.Parse(WithPhases(m));
        if (Seeds < 1 || Workers < 1 || RandomTrials < 1 || Phases < 1 || PhaseSteps < 1 || HeldOutSeeds < 1)
            throw new InputException("Seeds, Workers, RandomTrials, Phases, PhaseSteps and HeldOutSeeds must be at least 1");
    }
}

/// <summary>One method on one task with one study seed.</summary>
public sealed record HyperTrickRun(string Environment, int Seed, string Method, string Scheduler, int Trials, double Compute, double BudgetFraction,
    double Makespan, double Utilization, double Best, long BestTrial, string BestConfig, IReadOnlyList<double> HeldOut, double HeldOutMean,
    double? FractionToReachRandom, IReadOnlyList<int> ReachedPhase, IReadOnlyList<BestPoint> Curve);

/// <summary>One method on one task, over seeds.</summary>
public sealed record HyperTrickSummary(string Environment, string Method, double BestMean, double BestStd, double HeldOutMean, double HeldOutStd,
    double BudgetFraction, double UtilizationMean, double TrialsMean, double DiffVsRandom, double DiffLow, double DiffHigh, string Verdict,
    int ReachedRandomBest, int Seeds, double? MedianFractionToReach);

/// <summary>The study's result.</summary>
public sealed record HyperTrickStudyResult(HyperTrickStudyOptions Options, IReadOnlyList<HyperTrickRun> Runs, IReadOnlyList<HyperTrickSummary> Summaries);

/// <summary>Runs the study (see the file header).</summary>
public static class HyperTrickStudy
{
    /// <summary>Runs every (task, seed, method); finished runs are read back from <paramref name="runDir"/>.</summary>
    public static HyperTrickStudyResult Run(string runDir, HyperTrickStudyOptions options, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var runs = new List<HyperTrickRun>();
        foreach (var env in options.Environments)
        {
            var heldOutCache = new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal);
            for (int seed = 0; seed < options.Seeds; seed++)
            {
                var random = options.Methods.First(m => m.StartsWith("random", StringComparison.Ordinal));
                var reference = RunOne(runDir, options, env, seed, random, double.PositiveInfinity, options.RandomTrials, null, heldOutCache, log, cancellation);
                runs.Add(reference);
                foreach (var method in options.Methods.Where(m => m != random))
                    runs.Add(RunOne(runDir, options, env, seed, method, reference.Compute, options.RandomTrials * 20, reference, heldOutCache, log, cancellation));
            }
        }
        return new HyperTrickStudyResult(options, runs, Summarize(options, runs));
    }

    private static HyperTrickRun RunOne(string runDir, HyperTrickStudyOptions options, string env, int seed, string method, double budget,
        int maxTrials, HyperTrickRun? reference, Dictionary<string, IReadOnlyList<double>> heldOutCache, Action<string>? log, CancellationToken cancellation)
    {
        var scheduler = options.WithPhases(method);
        var name = method.Split('(')[0];
        var dir = Path.Combine(runDir, env, $"seed{seed}", name);
        var resultPath = Path.Combine(dir, "run.json");
        var fingerprint = $"{env}|{seed}|{scheduler}|{options.RandomTrials}|{options.PhaseSteps}|{options.Workers}|{options.HeldOutSeeds}|{maxTrials}|{budget}";
        if (File.Exists(resultPath))
        {
            var saved = System.Text.Json.JsonSerializer.Deserialize<SavedRun>(File.ReadAllText(resultPath), ResultJson.Options);
            if (saved is not null && saved.Fingerprint == fingerprint) return saved.Run;
        }
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var objective = new A2CObjective(env, options.PhaseSteps);
        var definition = new StudyDefinition($"{env}-{name}-seed{seed}", objective.Name, A2CObjective.DefaultSpace, scheduler, (ulong)(1000 + seed),
            Direction.Maximize, maxTrials);
        VirtualRunSummary summary;
        StudyStatus status;
        using (var store = new SqliteStudyStore(Path.Combine(dir, "study.db")))
        {
            var clock = new VirtualClock();
            var study = Study.Open(store, definition, clock);
            summary = VirtualCluster.Run(study, clock, objective, options.Workers, Path.Combine(dir, "trials"), budget, cancellation);
            status = study.Status();
        }
        Directory.Delete(Path.Combine(dir, "trials"), recursive: true); // checkpoints are only needed while the study runs
        var best = status.Trials.Where(t => t.Phase == options.Phases && t.Score is { } s && double.IsFinite(s)).OrderByDescending(t => t.Score).ThenBy(t => t.Trial).FirstOrDefault()
            ?? throw new InvalidOperationException($"{env} {name} seed {seed}: no trial reached the last phase");
        var configKey = best.Config.ToString();
        if (!heldOutCache.TryGetValue(configKey, out var heldOut))
        {
            heldOut = HeldOut(env, options, best.Config, cancellation);
            heldOutCache[configKey] = heldOut;
        }
        double? reach = null;
        if (reference is not null)
        {
            var hit = summary.Curve.FirstOrDefault(p => p.Best >= reference.Best);
            if (hit is not null) reach = hit.Compute / reference.Compute;
        }
        var run = new HyperTrickRun(env, seed, name, scheduler, status.Trials.Count, summary.Compute, reference is null ? 1 : summary.Compute / reference.Compute,
            summary.Makespan, summary.Utilization, best.Score!.Value, best.Trial, configKey, heldOut, heldOut.Average(), reach,
            status.ReachedPhase, summary.Curve);
        Condense.Core.IO.AtomicFile.WriteAllText(resultPath, ResultJson.Serialize(new SavedRun(fingerprint, run)));
        log?.Invoke($"{env} seed {seed} {name}: {run.Trials} trials, compute {run.Compute:N0} steps ({run.BudgetFraction:P0} of random's), " +
            $"utilization {run.Utilization:P1}, best {run.Best:F1} (trial {run.BestTrial}), held-out {run.HeldOutMean:F1}, {started.Elapsed.TotalSeconds:F0} s");
        return run;
    }

    private sealed record SavedRun(string Fingerprint, HyperTrickRun Run);

    // The selected configuration trained from scratch with seeds no study trial used, to the full length.
    private static IReadOnlyList<double> HeldOut(string env, HyperTrickStudyOptions options, Condense.Search.Spaces.TrialConfig config, CancellationToken cancellation)
    {
        var objective = new A2CObjective(env, options.PhaseSteps);
        var scores = new List<double>();
        for (int k = 0; k < options.HeldOutSeeds; k++)
        {
            var ctx = new TrialContext(-1, config, 0xC0FFEEUL + (ulong)k * 7919, options.Phases, "");
            var agent = new A2CAgent(env, objective.OptionsFor(ctx), ctx.Seed);
            agent.TrainUntil(options.Phases * options.PhaseSteps, cancellation);
            scores.Add(agent.Diverged || double.IsNaN(agent.TrailingReturn) ? double.NegativeInfinity : agent.TrailingReturn);
        }
        return scores;
    }

    private static List<HyperTrickSummary> Summarize(HyperTrickStudyOptions options, List<HyperTrickRun> runs)
    {
        var list = new List<HyperTrickSummary>();
        foreach (var env in options.Environments)
        {
            var random = runs.Where(r => r.Environment == env && r.Method == "random").OrderBy(r => r.Seed).ToList();
            foreach (var method in options.Methods.Select(m => m.Split('(')[0]))
            {
                var mine = runs.Where(r => r.Environment == env && r.Method == method).OrderBy(r => r.Seed).ToList();
                var (bestMean, bestStd) = SeedStatistics.MeanStd(mine.Select(r => r.Best));
                var (heldMean, heldStd) = SeedStatistics.MeanStd(mine.Select(r => r.HeldOutMean));
                var (diff, low, high) = PairedStatistics.PairedInterval([.. mine.Select(r => r.HeldOutMean)], [.. random.Select(r => r.HeldOutMean)]);
                string verdict = method == "random" ? "reference" : double.IsNaN(low) ? "n/a" : low > 0 ? "better" : high < 0 ? "worse" : "tie";
                var reached = mine.Where(r => r.FractionToReachRandom is not null).Select(r => r.FractionToReachRandom!.Value).Order().ToList();
                list.Add(new HyperTrickSummary(env, method, bestMean, bestStd, heldMean, heldStd, mine.Average(r => r.BudgetFraction),
                    mine.Average(r => r.Utilization), mine.Average(r => r.Trials), diff, low, high, verdict,
                    method == "random" ? mine.Count : reached.Count, mine.Count, reached.Count == 0 ? null : reached[reached.Count / 2]));
            }
        }
        return list;
    }

    /// <summary>The result as Markdown tables.</summary>
    public static string ToMarkdown(HyperTrickStudyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"A2C, {o.Phases} phases of {o.PhaseSteps:N0} environment steps; search space `{A2CObjective.DefaultSpace}`; {o.Seeds} study seeds " +
            $"(paired: the same configurations in the same order for every method); {o.Workers} virtual workers; random search runs {o.RandomTrials} " +
            $"trials to the end and its compute is every method's budget. Best = best training return (trailing 20 episodes) at the last phase, " +
            $"which selects the configuration; held-out = that configuration trained again with {o.HeldOutSeeds} unseen seeds (mean), which is what is compared.");
        sb.AppendLine();
        foreach (var env in o.Environments)
        {
            sb.AppendLine($"**{env}**");
            sb.AppendLine();
            var table = new MarkdownTable("method", "trials", "compute", "utilization", "best (selection)", "held-out", "held-out − random [95% CI]",
                "verdict", "reached random's best (compute)");
            foreach (var s in result.Summaries.Where(s => s.Environment == env))
                table.AddRow(
                s.Method, $"{s.TrialsMean:F1}", $"{s.BudgetFraction:P0}", $"{s.UtilizationMean:P1}", $"{s.BestMean:F1} ± {s.BestStd:F1}",
                $"{s.HeldOutMean:F1} ± {s.HeldOutStd:F1}",
                s.Method == "random" ? "-" : $"{SignedFormat.Points(s.DiffVsRandom)} [{SignedFormat.Points(s.DiffLow)}, {SignedFormat.Points(s.DiffHigh)}]",
                s.Verdict == "better" || s.Verdict == "worse" ? $"**{s.Verdict}**" : s.Verdict,
                s.Method == "random" ? "-" : $"{s.ReachedRandomBest}/{s.Seeds}" + (s.MedianFractionToReach is { } f ? $" (median {f:P0})" : ""));
            sb.AppendLine(table.ToString());
            sb.AppendLine();
        }
        sb.AppendLine("Best configuration per method and seed (held-out mean in brackets):");
        sb.AppendLine();
        var configs = new MarkdownTable("task", "seed", "method", "trial", "configuration", "best (held-out)");
        foreach (var r in result.Runs.OrderBy(r => r.Environment, StringComparer.Ordinal).ThenBy(r => r.Seed).ThenBy(r => r.Method, StringComparer.Ordinal))
            configs.AddRow(r.Environment, r.Seed, r.Method, r.BestTrial, r.BestConfig, $"{r.Best:F1} ({r.HeldOutMean:F1})");
        sb.AppendLine(configs.ToString());
        return sb.ToString();
    }

    /// <summary>Best-so-far against compute, mean over seeds on a grid, one PNG per task.</summary>
    public static IReadOnlyList<string> Plot(HyperTrickStudyResult result, string folder, string prefix)
    {
        ArgumentNullException.ThrowIfNull(result);
        var files = new List<string>();
        foreach (var env in result.Options.Environments)
        {
            var budget = result.Runs.Where(r => r.Environment == env && r.Method == "random").Average(r => r.Compute);
            var grid = Enumerable.Range(1, 60).Select(i => budget * i / 60.0).ToList();
            var series = new List<PlotSeries>();
            foreach (var method in result.Options.Methods.Select(m => m.Split('(')[0]))
            {
                var runs = result.Runs.Where(r => r.Environment == env && r.Method == method).ToList();
                var ys = grid.Select(c =>
                {
                    var vals = runs.Select(r => r.Curve.LastOrDefault(p => p.Compute <= c)?.Best).Where(v => v is not null).Select(v => v!.Value).ToList();
                    return vals.Count == runs.Count ? vals.Average() : double.NaN; // only where every seed has a completed trial
                }).ToList();
                series.Add(new PlotSeries(method, [.. grid.Select(c => c / 1e6)], ys));
            }
            var path = Path.Combine(folder, $"{prefix}-{env}.png");
            Plots.LineChart(path, $"{env}: best completed trial vs compute (mean of {result.Options.Seeds} seeds)", "environment steps (millions)",
                "best training return", series);
            files.Add(path);
        }
        return files;
    }
}
