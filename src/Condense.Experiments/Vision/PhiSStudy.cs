using System.Globalization;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Vision;

/// <summary>One metric of one arm over seeds.</summary>
public sealed record StudyMetric(string Name, bool HigherIsBetter, double Mean, double Std, double Rank);

/// <summary>One arm (normalizer) of the study: its metrics and its average rank across them.</summary>
public sealed record StudyArm(string Name, string Description, IReadOnlyList<StudyMetric> Metrics, double AverageRank);

/// <summary>
/// One arm against the reference arm on one metric, paired by seed (same seed, same images, same initialisation):
/// the mean difference arm − reference, its 95% t interval, and "better", "worse" or "tie" (the interval holds 0).
/// </summary>
public sealed record PairedDifference(string Arm, string Reference, string Metric, bool HigherIsBetter, double Mean, double CiLow, double CiHigh,
    string Verdict);

/// <summary>The ranked arms and every arm's paired differences against PHI-S.</summary>
public sealed record PhiSStudyResult(IReadOnlyList<StudyArm> Arms, IReadOnlyList<PairedDifference> VsPhiS);

/// <summary>
/// The PHI-S paper's Table 1 at Condense's scale: the same student, recipe and budget distilled under each way of
/// treating the teachers' feature targets (raw MSE; cosine; the hybrid losses; global and per-channel
/// standardization; PCA, ZCA and Hadamard whitening; PHI-S), several seeds each; per arm the teachers' feature MSE
/// in their own units, kNN and linear probe through each adaptor and combined, and the average rank across those
/// metrics, where arms whose means differ by less than the seed noise share a rank (ties).
/// </summary>
public static class PhiSStudy
{
    /// <summary>Arm name → (recipe overrides, description).</summary>
    public static readonly IReadOnlyList<(string Name, string[] Overrides, string Description)> Arms =
    [
        ("mse", ["loss.feature_normalizer=mse"], "raw MSE on teacher features"),
        ("cosine", ["loss.feature_cosine_weight=1", "loss.feature_smooth_l1_weight=0"], "cosine only"),
        ("hyb-mse", ["loss.feature_distance=mse"], "0.9 cos + 0.1 MSE"),
        ("hyb-smL1", [], "0.9 cos + 0.1 SmoothL1 (AM-RADIO)"),
        ("global-std", ["loss.feature_normalizer=global-std"], "global standardization + MSE"),
        ("std", ["loss.feature_normalizer=std"], "per-channel standardization + MSE"),
        ("pca-w", ["loss.feature_normalizer=pca-w"], "PCA whitening + MSE"),
        ("zca", ["loss.feature_normalizer=zca"], "ZCA whitening + MSE"),
        ("hca", ["loss.feature_normalizer=hca"], "Hadamard whitening + MSE"),
        ("phi-s", ["loss.feature_normalizer=phi-s"], "PHI-S + MSE"),
    ];

    /// <summary>The study's base settings on top of the default recipe: a small, identical budget for every arm.</summary>
    public static readonly string[] BaseOverrides =
    [
        "name=phi-s-study", "data.train_images=3000", "data.test_images=500", "student.embed_dim=64", "student.depth=4",
        "train.steps=200", "train.warmup_steps=20", "train.checkpoint_every=0", "eval.probe_steps=100", "eval.pca_images=2",
        "adaptor.hidden=128",
        // every teacher's normalizer is re-fitted every 20 steps and frozen at step 50 in every arm: the targets of the
        // rotation-based arms stop moving at the same point for all teachers (a sample-count rule froze the ResNet8
        // and HOG normalizers at step 49 but never the ResNet18 one, 4 tokens per image at 64 px)
        "teachers[0].input_size=64", "loss.normalizer_update_period=20", "loss.normalizer_freeze_step=50",
    ];

    /// <summary>
    /// Distils every arm (all, or those named in <paramref name="arms"/>) for <paramref name="seeds"/> seeds into
    /// <paramref name="runDir"/>, and returns the ranked arms and their paired differences against PHI-S.
    /// </summary>
    public static PhiSStudyResult Run(string runDir, int seeds, IEnumerable<string> extraOverrides, IReadOnlyList<string>? arms,
        IReadOnlyList<string>? teachers, ProgressMode progress, Action<string>? log = null)
    {
        var selected = arms is null ? Arms : Arms.Where(a => arms.Contains(a.Name)).ToList();
        var unknown = arms?.Except(Arms.Select(a => a.Name)).ToList();
        if (unknown is { Count: > 0 })
            throw Condense.Core.InputException.ForOption("Arms", $": unknown arm '{unknown[0]}' (arms: {string.Join(", ", Arms.Select(a => a.Name))})");
        if (seeds < 1) throw Condense.Core.InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        var extra = extraOverrides.ToList();
        var results = new Dictionary<string, List<DistillResult>>();
        foreach (var (name, overrides, _) in selected)
        {
            results[name] = [];
            for (int seed = 0; seed < seeds; seed++)
            {
                var recipe = RecipeLoader.LoadDefault([.. BaseOverrides, .. overrides, $"train.seed={seed}", .. extra]);
                if (teachers is not null) recipe = recipe.WithTeachers(teachers);
                log?.Invoke($"[phi-s study] {name} seed {seed}");
                results[name].Add(Distiller.Run(recipe, new DistillRunOptions(Path.Combine(runDir, name, $"seed{seed}"), Progress: progress)));
            }
        }
        var runs = selected.Select(a => (a.Name, a.Description, results[a.Name])).ToList();
        return new PhiSStudyResult(Rank(runs), Paired(runs, "phi-s"));
    }

    /// <summary>Each arm against <paramref name="reference"/>, metric by metric, paired by seed (empty when the reference was not run).</summary>
    public static IReadOnlyList<PairedDifference> Paired(IReadOnlyList<(string Name, string Description, List<DistillResult> Runs)> arms, string reference)
    {
        ArgumentNullException.ThrowIfNull(arms);
        var refArm = arms.FirstOrDefault(a => a.Name == reference);
        if (refArm.Runs is null) return [];
        var rows = new List<PairedDifference>();
        foreach (var arm in arms.Where(a => a.Name != reference))
            foreach (var (metric, higher, value) in Metrics(refArm.Runs[0]))
            {
                int n = Math.Min(arm.Runs.Count, refArm.Runs.Count);
                var (mean, low, high) = PairedStatistics.PairedInterval(arm.Runs.Take(n).Select(value).ToList(), refArm.Runs.Take(n).Select(value).ToList());
                string verdict = double.IsNaN(low) || (low <= 0 && high >= 0) ? "tie" : (mean > 0) == higher ? "better" : "worse";
                rows.Add(new PairedDifference(arm.Name, reference, metric, higher, mean, low, high, verdict));
            }
        return rows;
    }

    /// <summary>Paired differences as a table: one row per arm, one cell per metric (difference, interval, verdict).</summary>
    public static string PairedToMarkdown(IReadOnlyList<PairedDifference> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) return "";
        var metrics = rows.Select(r => r.Metric).Distinct().ToList();
        var table = new MarkdownTable(["arm − " + rows[0].Reference, .. metrics]);
        foreach (var arm in rows.Select(r => r.Arm).Distinct())
            table.AddRow([arm, .. metrics.Select(m => (object)Cell(rows.Single(r => r.Arm == arm && r.Metric == m)))]);
        return table.ToString();

        static string Cell(PairedDifference d)
        {
            double scale = d.HigherIsBetter ? 100 : 1;
            string f = d.HigherIsBetter ? "+0.0;-0.0;0.0" : "+0.000;-0.000;0.000";   // a difference that rounds to zero prints 0, unsigned
            string text = string.Create(CultureInfo.InvariantCulture,
                $"{(d.Mean * scale).ToString(f, CultureInfo.InvariantCulture)} ({(d.CiLow * scale).ToString(f, CultureInfo.InvariantCulture)}, {(d.CiHigh * scale).ToString(f, CultureInfo.InvariantCulture)})");
            return d.Verdict == "tie" ? $"{text} tie" : $"{text} **{d.Verdict}**";
        }
    }

    // metric name → (higher is better, value of one run)
    private static List<(string Name, bool Higher, Func<DistillResult, double> Value)> Metrics(DistillResult first)
    {
        var metrics = new List<(string Name, bool Higher, Func<DistillResult, double> Value)>();
        foreach (var f in first.Fidelity.Where(f => f.Output == "features"))
            metrics.Add(($"{f.Teacher} feature MSE", false, r => r.Fidelity.Single(x => x.Teacher == f.Teacher && x.Output == "features").Mse));
        foreach (var k in first.Knn)
        {
            metrics.Add(($"{k.Teacher} kNN", true, r => r.Knn.Single(x => x.Teacher == k.Teacher).StudentKnn));
            metrics.Add(($"{k.Teacher} probe", true, r => r.Knn.Single(x => x.Teacher == k.Teacher).StudentProbe));
        }
        metrics.Add(("combined kNN", true, r => r.Combined.Knn));
        metrics.Add(("combined probe", true, r => r.Combined.Probe));
        return metrics;
    }

    /// <summary>Aggregates runs into per-arm metric means/stds and tie-aware ranks.</summary>
    public static IReadOnlyList<StudyArm> Rank(IReadOnlyList<(string Name, string Description, List<DistillResult> Runs)> arms)
    {
        ArgumentNullException.ThrowIfNull(arms);
        var metrics = Metrics(arms[0].Runs[0]);

        var stats = arms.Select(a => metrics.Select(m => SeedStatistics.MeanStd(a.Runs.Select(m.Value))).ToList()).ToList();

        var ranks = new double[arms.Count, metrics.Count];
        for (int m = 0; m < metrics.Count; m++)
        {
            var order = Enumerable.Range(0, arms.Count)
                .OrderBy(a => metrics[m].Higher ? -stats[a][m].Mean : stats[a][m].Mean).ToList();
            // tie groups: consecutive arms whose means differ by less than their seed noise share the mean rank
            int start = 0;
            for (int i = 1; i <= order.Count; i++)
            {
                bool tied = i < order.Count && Math.Abs(stats[order[i]][m].Mean - stats[order[i - 1]][m].Mean)
                    < Math.Max(stats[order[i]][m].Std, stats[order[i - 1]][m].Std);
                if (tied) continue;
                double shared = (start + 1 + i) / 2.0;
                for (int j = start; j < i; j++) ranks[order[j], m] = shared;
                start = i;
            }
        }
        return arms.Select((a, i) => new StudyArm(a.Name, a.Description,
            metrics.Select((m, j) => new StudyMetric(m.Name, m.Higher, stats[i][j].Mean, stats[i][j].Std, ranks[i, j])).ToList(),
            Enumerable.Range(0, metrics.Count).Average(j => ranks[i, j]))).ToList();
    }

    /// <summary>The result table (mean ± std over seeds, rank in brackets) in Markdown.</summary>
    public static string ToMarkdown(IReadOnlyList<StudyArm> arms)
    {
        var names = arms[0].Metrics.Select(m => $"{m.Name} {(m.HigherIsBetter ? "↑" : "↓")}").ToList();
        var table = new MarkdownTable(["arm", .. names, "avg rank ↓"]);
        foreach (var a in arms.OrderBy(a => a.AverageRank))
            table.AddRow([a.Name, .. a.Metrics.Select(m => (object)Cell(m)), a.AverageRank.ToString("F2", CultureInfo.InvariantCulture)]);
        return table.ToString();

        static string Cell(StudyMetric m)
        {
            bool pct = m.HigherIsBetter;
            double scale = pct ? 100 : 1;
            string format = pct ? "F1" : "G3";
            return string.Create(CultureInfo.InvariantCulture,
                $"{(m.Mean * scale).ToString(format, CultureInfo.InvariantCulture)} ± {(m.Std * scale).ToString(format, CultureInfo.InvariantCulture)} ({m.Rank:0.#})");
        }
    }

    /// <summary>Bar chart of the average rank per arm (best first).</summary>
    public static void Plot(string path, IReadOnlyList<StudyArm> arms)
    {
        var sorted = arms.OrderBy(a => a.AverageRank).ToList();
        Plots.BarChart(path, "PHI-S study: average rank across metrics (lower is better)", "average rank",
            sorted.Select(a => a.Name).ToList(), sorted.Select(a => a.AverageRank).ToList());
    }
}
