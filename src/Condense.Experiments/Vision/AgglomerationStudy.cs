// `condense study agglomeration`: does distilling several teachers into one student give it more than any single
// teacher would (AM-RADIO's agglomerative claim), at Condense's scale?
//
// Arms: the same student, recipe and budget (images, steps, batch) distilled from each teacher alone and from all
// teachers together, several seeds each. Every arm classifies the same held-out images, so arms are compared in
// pairs on the same queries: per seed the exact McNemar test on the images where exactly one arm is right (pooled
// over seeds), and a 95% t interval of the per-seed accuracy difference. A difference counts only when the interval
// excludes 0 and the pooled McNemar p is below 0.05; everything else is called a tie.
//
// What isolates what:
// - all vs each single-teacher student, through the backbone summary tokens and through a shared teacher's adaptor:
//   the effect of the other teachers with data, student and budget fixed;
// - a single-teacher student vs its own teacher: what training on in-domain images alone gives (the teachers were
//   trained on ImageNet / CIFAR-10, the students see Fashion-MNIST), which the earlier "student beats every teacher"
//   reading did not separate from agglomeration.
using System.Globalization;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Vision;

/// <summary>One metric of one arm: per-seed accuracy and per-seed, per-image outcomes.</summary>
public sealed record AgglomerationCell(string Arm, string Metric, double Mean, double Std, IReadOnlyList<double> PerSeed)
{
    /// <summary>Per seed, per held-out image: right or wrong (not in the JSON).</summary>
    [System.Text.Json.Serialization.JsonIgnore] public IReadOnlyList<IReadOnlyList<bool>> Outcomes { get; init; } = [];
}

/// <summary>A paired comparison of two cells on the same images, A − B.</summary>
public sealed record AgglomerationComparison(string Question, string A, string B, double MeanDifference, double CiLow, double CiHigh,
    int AOnly, int BOnly, double McNemarP, string Verdict);

/// <summary>Everything the study measured.</summary>
public sealed record AgglomerationResult(int Seeds, IReadOnlyList<string> Overrides, IReadOnlyList<AgglomerationCell> Cells,
    IReadOnlyList<AgglomerationComparison> Comparisons);

/// <summary>Single-teacher students against the all-teacher student, paired on the same queries.</summary>
public static class AgglomerationStudy
{
    /// <summary>Teachers of the default recipe; an arm per teacher plus "all".</summary>
    public static readonly string[] Teachers = ["resnet18", "resnet8", "hog"];

    /// <summary>The study's budget on top of the default recipe, identical for every arm.</summary>
    public static readonly string[] BaseOverrides =
    [
        "name=agglomeration-study", "data.train_images=4000", "data.test_images=1000", "student.embed_dim=96", "student.depth=4",
        "train.steps=400", "train.warmup_steps=40", "train.checkpoint_every=0", "eval.probe_steps=100", "eval.pca_images=2",
    ];

    /// <summary>Runs (or resumes) every arm and seed under <paramref name="runDir"/> and compares them.</summary>
    public static AgglomerationResult Run(string runDir, int seeds, IEnumerable<string> extraOverrides, ProgressMode progress, Action<string>? log = null)
    {
        if (seeds < 1) throw Condense.Core.InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        var extra = (extraOverrides ?? []).ToList();
        var overrides = BaseOverrides.Concat(extra).ToList();
        var arms = Teachers.Select(t => (Name: t, Teachers: new[] { t })).Append(("all", Teachers)).ToList();
        var runs = new Dictionary<string, List<DistillResult>>();
        for (int seed = 0; seed < seeds; seed++)
            foreach (var (name, teachers) in arms)
            {
                var recipe = RecipeLoader.LoadDefault([.. overrides, $"train.seed={seed}"]).WithTeachers(teachers);
                log?.Invoke($"[agglomeration] {name} seed {seed}");
                var result = Distiller.Run(recipe, new DistillRunOptions(Path.Combine(runDir, name, $"seed{seed}"), Progress: progress));
                (runs.TryGetValue(name, out var list) ? list : runs[name] = []).Add(result);
            }
        return Compare(seeds, overrides, runs);
    }

    /// <summary>The cells and paired comparisons from finished runs (arm name → one result per seed, same images).</summary>
    public static AgglomerationResult Compare(int seeds, IReadOnlyList<string> overrides, IReadOnlyDictionary<string, List<DistillResult>> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var cells = new List<AgglomerationCell>();
        AgglomerationCell Cell(string arm, string metric, Func<DistillResult, IReadOnlyList<bool>?> outcomes, string? label = null)
        {
            var perSeed = runs[arm].Select(r => outcomes(r) ?? throw new InvalidOperationException($"{arm}: no per-image outcomes for {metric}")).ToList();
            var acc = perSeed.Select(o => o.Count(c => c) / (double)o.Count).ToList();
            var (mean, std) = SeedStatistics.MeanStd(acc);
            var cell = new AgglomerationCell(label ?? arm, metric, mean, std, acc) { Outcomes = perSeed };
            cells.Add(cell);
            return cell;
        }
        IReadOnlyList<bool>? Adaptor(DistillResult r, string teacher) => r.Knn.SingleOrDefault(k => k.Teacher == teacher)?.StudentKnnCorrect;
        IReadOnlyList<bool>? Teacher(DistillResult r, string teacher) => r.Knn.SingleOrDefault(k => k.Teacher == teacher)?.TeacherKnnCorrect;

        var backbone = runs.Keys.ToDictionary(a => a, a => Cell(a, "backbone summary kNN", r => r.BackboneSummary.KnnCorrect));
        var combined = Cell("all", "all adaptor summaries kNN", r => r.Combined.KnnCorrect);
        var comparisons = new List<AgglomerationComparison>();
        foreach (var t in Teachers.Where(runs.ContainsKey))
            comparisons.Add(Paired($"all vs {t} alone: backbone summary", backbone["all"], backbone[t]));
        foreach (var t in Teachers.Where(t => runs.ContainsKey(t) && runs[t][0].Knn.Any(k => k.Teacher == t)))
        {
            var allVia = Cell("all", $"{t} adaptor kNN", r => Adaptor(r, t));
            var aloneVia = Cell(t, $"{t} adaptor kNN", r => Adaptor(r, t));
            var teacher = Cell(t, $"{t} teacher kNN", r => Teacher(r, t), label: $"{t} (teacher)");
            comparisons.Add(Paired($"all vs {t} alone: through the {t} adaptor", allVia, aloneVia));
            comparisons.Add(Paired($"{t}-only student vs its teacher (in-domain training alone)", aloneVia, teacher));
            comparisons.Add(Paired($"all-teacher student vs the {t} teacher", allVia, teacher));
        }
        // the earlier claim: the combined student summary against the best single teacher
        var bestTeacher = cells.Where(c => c.Arm.EndsWith("(teacher)", StringComparison.Ordinal)).MaxBy(c => c.Mean);
        if (bestTeacher is not null) comparisons.Add(Paired("combined student summary vs the best teacher (the earlier claim)", combined, bestTeacher));
        return new AgglomerationResult(seeds, overrides.ToList(), cells, comparisons);

        AgglomerationComparison Paired(string question, AgglomerationCell a, AgglomerationCell b)
        {
            var c = PairedStatistics.Compare(a.Outcomes, b.Outcomes);
            return new AgglomerationComparison(question, $"{a.Arm}: {a.Metric}", $"{b.Arm}: {b.Metric}", c.MeanDifference, c.CiLow, c.CiHigh,
                c.AOnly, c.BOnly, c.McNemarP, c.Verdict);
        }
    }

    /// <summary>The two result tables in Markdown: accuracy per arm, then the paired comparisons.</summary>
    public static string ToMarkdown(AgglomerationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string Pct(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);
        var cells = new MarkdownTable("arm", "metric", "kNN top-1 % (mean ± std)", "per seed");
        foreach (var c in result.Cells.DistinctBy(c => (c.Arm, c.Metric)))
            cells.AddRow(c.Arm, c.Metric, $"{Pct(c.Mean)} ± {Pct(c.Std)}", string.Join(", ", c.PerSeed.Select(Pct)));
        var pairs = new MarkdownTable("question", "A", "B", "A − B, points (95% CI)", "A only / B only", "McNemar p", "verdict");
        foreach (var c in result.Comparisons)
            pairs.AddRow(c.Question, c.A, c.B,
                $"{SignedFormat.Points(100 * c.MeanDifference)} ({SignedFormat.Points(100 * c.CiLow)}, {SignedFormat.Points(100 * c.CiHigh)})",
                $"{c.AOnly} / {c.BOnly}", PairedStatistics.FormatP(c.McNemarP),
                c.Verdict == "tie" ? "tie" : $"**{c.Verdict}**");
        return cells + "\n" + pairs;
    }
}
