// `condense study optimizer`: why the default distillation recipe uses AdamW and not the paper's LAMB.
//
// AM-RADIO trains with LAMB at batch 1,024 and more; Condense's default recipe trains at batch 64 for a few hundred
// steps, where LAMB's per-layer trust ratio may be the wrong step size. Arms: the default recipe with only the
// optimizer and its peak learning rate changed (schedule, warm-up, weight decay, data, student and steps identical),
// several seeds each. Every arm classifies the same held-out images, so each arm is compared with the reference arm
// (the recipe's own optimizer and learning rate) in pairs on the same queries: per seed the exact McNemar test on the
// images where exactly one arm is right (pooled over seeds), and a 95% t interval of the per-seed accuracy difference;
// anything else than both agreeing on a direction is called a tie.
//
// What it does not isolate: each optimizer gets two or three learning rates, not a full sweep, so "LAMB is slower
// here" means "at the learning rates tried, at this budget".
using System.Globalization;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Vision;

/// <summary>One arm: an optimizer and its peak learning rate.</summary>
public sealed record OptimizerArm(string Optimizer, double LearningRate)
{
    /// <summary>The arm as written on the command line, e.g. "lamb:0.002".</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"{Optimizer}:{LearningRate:G4}");

    /// <summary>Parses "optimizer:lr" (e.g. "adamw:3e-3"); errors name <paramref name="option"/>.</summary>
    public static OptimizerArm Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length != 2 || string.IsNullOrWhiteSpace(parts[0]))
            throw Condense.Core.InputException.ForOption(option, $"'{text}': expected optimizer:learning_rate, e.g. lamb:0.002");
        if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var lr) || !(lr > 0) || double.IsInfinity(lr))
            throw Condense.Core.InputException.ForOption(option, $"'{text}': the learning rate must be a positive number");
        return new OptimizerArm(parts[0].Trim().ToLowerInvariant(), lr);
    }
}

/// <summary>One arm's seeds: final loss and kNN accuracies.</summary>
public sealed record OptimizerRun(string Arm, int Seed, double FinalLoss, double BackboneKnn, double AdaptorKnn);

/// <summary>An arm against the reference arm on the same images, A − B.</summary>
public sealed record OptimizerComparison(string A, string B, string Metric, double MeanDifference, double CiLow, double CiHigh,
    int AOnly, int BOnly, double McNemarP, string Verdict);

/// <summary>Everything the study measured.</summary>
public sealed record OptimizerResult(int Seeds, string Reference, string AdaptorTeacher, IReadOnlyList<string> Overrides,
    IReadOnlyList<OptimizerRun> Runs, IReadOnlyList<OptimizerComparison> Comparisons, string DataSource);

/// <summary>Optimizer and learning-rate arms of the default recipe, paired on the same queries.</summary>
public static class OptimizerStudy
{
    /// <summary>The paper's LAMB at two learning rates, AdamW at two (the second is the default recipe's).</summary>
    public static readonly OptimizerArm[] DefaultArms = [new("lamb", 2e-3), new("lamb", 6e-3), new("adamw", 1e-3), new("adamw", 3e-3)];

    /// <summary>The budget of the development runs that chose the optimizer: the default recipe, 4,000 images, 300 steps.</summary>
    public static readonly string[] BaseOverrides =
    [
        "name=optimizer-study", "data.train_images=4000", "data.test_images=1000", "train.steps=300", "train.warmup_steps=30",
        "train.checkpoint_every=0", "eval.probe_steps=100", "eval.pca_images=2",
    ];

    /// <summary>The teacher whose adaptor kNN is reported next to the backbone summary's.</summary>
    public const string AdaptorTeacher = "resnet18";

    /// <summary>Runs (or resumes) every arm and seed under <paramref name="runDir"/> and compares each arm with the reference.</summary>
    public static OptimizerResult Run(string runDir, IReadOnlyList<OptimizerArm> arms, int seeds, IEnumerable<string> extraOverrides,
        ProgressMode progress, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(arms);
        if (arms.Count < 2) throw Condense.Core.InputException.ForOption("Arms", ": name at least two arms");
        if (arms.Select(a => a.Name).Distinct().Count() != arms.Count) throw Condense.Core.InputException.ForOption("Arms", ": an arm is named twice");
        if (seeds < 1) throw Condense.Core.InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        var overrides = BaseOverrides.Concat(extraOverrides ?? []).ToList();
        var defaults = RecipeLoader.LoadDefault(overrides);
        var reference = arms.FirstOrDefault(a => a.Optimizer == defaults.Train.Optimizer && a.LearningRate == defaults.Train.LearningRate) ?? arms[^1];
        foreach (var arm in arms)
            if (arm.Optimizer is not ("adamw" or "lamb"))
                throw Condense.Core.InputException.ForOption("Arms", $"'{arm.Name}': the optimizer must be adamw or lamb");
        var runs = new List<OptimizerRun>();
        var outcomes = new Dictionary<(string Arm, string Metric), List<IReadOnlyList<bool>>>();
        string dataSource = "";
        for (int seed = 0; seed < seeds; seed++)
            foreach (var arm in arms)
            {
                log?.Invoke($"[optimizer] {arm.Name} seed {seed}");
                var r = Distiller.Run(Recipe(overrides, arm, seed),
                    new DistillRunOptions(Path.Combine(runDir, arm.Name.Replace(':', '_'), $"seed{seed}"), Progress: progress));
                dataSource = r.DataSource;
                var adaptor = r.Knn.Single(k => k.Teacher == AdaptorTeacher);
                runs.Add(new OptimizerRun(arm.Name, seed, r.Training?.FinalLoss ?? double.NaN, r.BackboneSummary.Knn, adaptor.StudentKnn));
                Add(arm.Name, "backbone summary kNN", r.BackboneSummary.KnnCorrect);
                Add(arm.Name, $"{AdaptorTeacher} adaptor kNN", adaptor.StudentKnnCorrect);
            }
        var comparisons = new List<OptimizerComparison>();
        foreach (var arm in arms.Where(a => a != reference))
            foreach (var metric in new[] { "backbone summary kNN", $"{AdaptorTeacher} adaptor kNN" })
            {
                var c = PairedStatistics.Compare(outcomes[(arm.Name, metric)], outcomes[(reference.Name, metric)]);
                comparisons.Add(new OptimizerComparison(arm.Name, reference.Name, metric, c.MeanDifference, c.CiLow, c.CiHigh, c.AOnly, c.BOnly,
                    c.McNemarP, c.Verdict));
            }
        return new OptimizerResult(seeds, reference.Name, AdaptorTeacher, overrides, runs, comparisons, dataSource);

        void Add(string arm, string metric, IReadOnlyList<bool>? correct)
        {
            var list = outcomes.TryGetValue((arm, metric), out var l) ? l : outcomes[(arm, metric)] = [];
            list.Add(correct ?? throw new InvalidOperationException($"{arm}: no per-image outcomes for {metric}"));
        }
    }

    private static DistillRecipe Recipe(IReadOnlyList<string> overrides, OptimizerArm arm, int seed) =>
        RecipeLoader.LoadDefault([.. overrides, $"train.optimizer={arm.Optimizer}",
            string.Create(CultureInfo.InvariantCulture, $"train.learning_rate={arm.LearningRate:R}"), $"train.seed={seed}"]);

    /// <summary>Per arm (mean ± std over seeds), then each arm against the reference.</summary>
    public static string ToMarkdown(OptimizerResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        static string Ms(IEnumerable<double> v, double scale, string format)
        {
            var (m, s) = SeedStatistics.MeanStd(v.Select(x => x * scale).ToList());
            return $"{m.ToString(format, CultureInfo.InvariantCulture)} ± {s.ToString(format, CultureInfo.InvariantCulture)}";
        }
        var table = new MarkdownTable("optimizer:lr", "seeds", "final loss", "backbone summary kNN %", $"kNN via {result.AdaptorTeacher} adaptor %");
        foreach (var g in result.Runs.GroupBy(r => r.Arm))
            table.AddRow(g.Key + (g.Key == result.Reference ? " (reference)" : ""), g.Count().ToString(CultureInfo.InvariantCulture),
                Ms(g.Select(r => r.FinalLoss), 1, "F3"), Ms(g.Select(r => r.BackboneKnn), 100, "F1"), Ms(g.Select(r => r.AdaptorKnn), 100, "F1"));
        var paired = new MarkdownTable("A", "B", "metric", "A − B, points (95% CI)", "A only / B only", "McNemar p", "verdict");
        foreach (var c in result.Comparisons)
            paired.AddRow(c.A, c.B, c.Metric,
                $"{SignedFormat.Points(100 * c.MeanDifference)} ({SignedFormat.Points(100 * c.CiLow)}, {SignedFormat.Points(100 * c.CiHigh)})",
                $"{c.AOnly} / {c.BOnly}", PairedStatistics.FormatP(c.McNemarP), c.Verdict == "tie" ? "tie" : $"**{c.Verdict}**");
        return $"Data: {result.DataSource}.\n\n{table}\nEach arm against the reference, paired on the same held-out images:\n\n{paired}";
    }
}
