// `condense study backbones`: which student learns most from the same teachers in the same time (issue 5)?
//
// Each student (RADIO ViT, FasterViT, E-RADIO, or any registry backbone) distils the same teachers on the same images.
// The budget is student compute: a short calibration run measures the student's median CPU seconds per optimizer
// step (cpu_s in its metrics.jsonl: all of the process's threads, warm-up steps excluded), then the student trains
// for budget / step time steps (at least 20), with a 10% warm-up. CPU time, not wall-clock, so that other programs
// on the machine do not change a student's step count (a wall-clock calibration gave one student 60 steps in one
// seed and 141 in another on a shared 2-core machine); run with one libtorch thread (OMP_NUM_THREADS=1) to make
// CPU seconds equal single-core seconds. Several seeds per student; each seed calibrates and trains anew, and all students of a
// seed classify the same held-out images, so students are compared in pairs on the same queries (McNemar, paired t
// interval; a tie unless both agree on a direction).
//
// What it does not control: the step count follows the calibration's median step CPU time, so the training loops'
// wall-clock differs where the data pipeline stalls (epoch boundaries) or the machine is shared; the JSON keeps each
// run's training seconds so a reader can see it.
using System.Globalization;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Vision;

/// <summary>One student's seed: calibrated step time, steps, and what it reached.</summary>
public sealed record BackboneBudgetRun(string Student, int Seed, long Parameters, double MedianStepCpuSeconds, long Steps, double TrainingSeconds,
    double FinalLoss, double AdaptorKnn, double BackboneKnn, IReadOnlyDictionary<string, double> Fidelity)
{
    /// <summary>Per held-out image: right or wrong through the backbone summary (not in the JSON).</summary>
    [System.Text.Json.Serialization.JsonIgnore] public IReadOnlyList<bool> BackboneCorrect { get; init; } = [];
}

/// <summary>A paired comparison of two students over seeds on the same images, A − B (backbone summary kNN).</summary>
public sealed record BackboneBudgetComparison(string A, string B, double MeanDifference, double CiLow, double CiHigh, int AOnly, int BOnly,
    double McNemarP, string Verdict);

/// <summary>Everything the study measured.</summary>
public sealed record BackboneBudgetResult(double BudgetSeconds, int Seeds, string AdaptorTeacher, double TeacherKnn, IReadOnlyList<string> Overrides,
    IReadOnlyList<BackboneBudgetRun> Runs, IReadOnlyList<BackboneBudgetComparison> Comparisons)
{
    /// <summary>Where the images came from (the full Fashion-MNIST package, or the shipped test split when it is not installed).</summary>
    public string DataSource { get; init; } = "";
}

/// <summary>Students at an equal budget of student compute, several seeds, paired on the same queries.</summary>
public static class BackboneBudgetStudy
{
    /// <summary>The students of issue 5's question.</summary>
    public static readonly string[] DefaultStudents = ["radio_vit", "fastervit_micro", "eradio_micro"];

    /// <summary>The teachers (CIFAR-10 ResNet8 summary + features, HOG features) and data, identical for every student.</summary>
    public static readonly string[] BaseOverrides =
    [
        "name=backbone-budget-study", "data.resolution=64", "data.train_images=2000", "data.test_images=500", "train.batch_size=32",
        "train.checkpoint_every=0", "eval.probe_steps=100", "eval.pca_images=2",
    ];

    private static readonly string[] StudyTeachers = ["resnet8", "hog"];
    private const int CalibrationSteps = 12;
    private const int CalibrationWarmup = 2;

    /// <summary>Runs (or resumes) every student and seed under <paramref name="runDir"/> and compares them.</summary>
    public static BackboneBudgetResult Run(string runDir, IReadOnlyList<string> students, double budgetSeconds, int seeds,
        IEnumerable<string> extraOverrides, ProgressMode progress, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(students);
        if (students.Count == 0) throw Condense.Core.InputException.ForOption("Students", ": name at least one");
        foreach (var s in students) Condense.Vision.Models.ModelRegistry.Info(s);                         // unknown names fail before any work
        if (!(budgetSeconds > 0)) throw Condense.Core.InputException.ForOption("BudgetSeconds", $"{budgetSeconds}: must be positive");
        if (seeds < 1) throw Condense.Core.InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        var overrides = BaseOverrides.Concat(extraOverrides ?? []).ToList();
        var runs = new List<BackboneBudgetRun>();
        double teacherKnn = double.NaN;
        string dataSource = "";
        for (int seed = 0; seed < seeds; seed++)
            foreach (var student in students)
            {
                var dir = Path.Combine(runDir, student, $"seed{seed}");
                var calibration = Recipe(overrides, student, seed, CalibrationSteps, CalibrationWarmup);
                log?.Invoke($"[backbones] {student} seed {seed}: calibrating");
                Distiller.Run(calibration, new DistillRunOptions(Path.Combine(dir, "calibration"), Progress: ProgressMode.None));
                double stepSeconds = MedianStepCpuSeconds(Path.Combine(dir, "calibration", "metrics.jsonl"));
                long steps = Math.Max(20, (long)(budgetSeconds / stepSeconds));
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"[backbones] {student} seed {seed}: {stepSeconds:F3} CPU s/step -> {steps} steps"));
                var recipe = Recipe(overrides, student, seed, steps, Math.Max(1, steps / 10));
                var r = Distiller.Run(recipe, new DistillRunOptions(Path.Combine(dir, "train"), Progress: progress));
                var adaptor = r.Knn.Single(k => k.Teacher == "resnet8");
                teacherKnn = adaptor.TeacherKnn;
                dataSource = r.DataSource;
                runs.Add(new BackboneBudgetRun(student, seed, Condense.Vision.Models.ModelRegistry.Info(student).Parameters, stepSeconds, steps,
                    r.Training?.ElapsedSeconds ?? double.NaN, r.Training?.FinalLoss ?? double.NaN, adaptor.StudentKnn, r.BackboneSummary.Knn,
                    r.Fidelity.ToDictionary(f => $"{f.Teacher} {f.Output}", f => f.Fidelity))
                {
                    BackboneCorrect = r.BackboneSummary.KnnCorrect ?? throw new InvalidOperationException($"{student}: no per-image outcomes"),
                });
            }
        return new BackboneBudgetResult(budgetSeconds, seeds, "resnet8", teacherKnn, overrides, runs, Compare(students, runs)) { DataSource = dataSource };
    }

    private static DistillRecipe Recipe(IReadOnlyList<string> overrides, string student, int seed, long steps, long warmup)
    {
        return RecipeLoader.LoadDefault([.. overrides, $"student.model={student}", $"train.seed={seed}",
            string.Create(CultureInfo.InvariantCulture, $"train.steps={steps}"), string.Create(CultureInfo.InvariantCulture, $"train.warmup_steps={warmup}")])
            .WithTeachers(StudyTeachers);
    }

    /// <summary>Median CPU seconds per optimizer step after the warm-up steps, from a run's metrics.jsonl (cpu_s).</summary>
    public static double MedianStepCpuSeconds(string metricsPath)
    {
        var times = MetricsLog.Read(metricsPath).Where(m => m["step"] > CalibrationWarmup)
            .Select(m => m.TryGetValue("cpu_s", out var cpu) ? cpu : throw new InvalidOperationException($"{metricsPath}: no cpu_s (written by an older Condense)"))
            .Order().ToList();
        if (times.Count == 0) throw new InvalidOperationException($"{metricsPath}: no steps after the warm-up to time");
        return times[times.Count / 2];
    }

    private static List<BackboneBudgetComparison> Compare(IReadOnlyList<string> students, List<BackboneBudgetRun> runs)
    {
        var comparisons = new List<BackboneBudgetComparison>();
        for (int i = 0; i < students.Count; i++)
            for (int j = i + 1; j < students.Count; j++)
            {
                var a = runs.Where(r => r.Student == students[i]).OrderBy(r => r.Seed).ToList();
                var b = runs.Where(r => r.Student == students[j]).OrderBy(r => r.Seed).ToList();
                var c = PairedStatistics.Compare(a.Select(r => r.BackboneCorrect).ToList(), b.Select(r => r.BackboneCorrect).ToList());
                comparisons.Add(new BackboneBudgetComparison(students[i], students[j], c.MeanDifference, c.CiLow, c.CiHigh, c.AOnly, c.BOnly, c.McNemarP, c.Verdict));
            }
        return comparisons;
    }

    /// <summary>Per student (mean ± std over seeds), then the paired comparisons.</summary>
    public static string ToMarkdown(BackboneBudgetResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        static string Ms(IEnumerable<double> v, double scale, string format)
        {
            var (m, s) = SeedStatistics.MeanStd(v.Select(x => x * scale).ToList());
            return $"{m.ToString(format, CultureInfo.InvariantCulture)} ± {s.ToString(format, CultureInfo.InvariantCulture)}";
        }
        var fidelityKeys = result.Runs.SelectMany(r => r.Fidelity.Keys).Distinct().ToList();
        var table = new MarkdownTable(["student", "params", "median CPU s/step", "steps", "training s", "final loss",
            $"kNN via {result.AdaptorTeacher} adaptor %", "backbone summary kNN %", .. fidelityKeys.Select(k => $"fidelity {k}")]);
        foreach (var g in result.Runs.GroupBy(r => r.Student))
            table.AddRow([g.Key, (g.First().Parameters / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M",
                Ms(g.Select(r => r.MedianStepCpuSeconds), 1, "F3"), Ms(g.Select(r => (double)r.Steps), 1, "F0"), Ms(g.Select(r => r.TrainingSeconds), 1, "F0"),
                Ms(g.Select(r => r.FinalLoss), 1, "F3"), Ms(g.Select(r => r.AdaptorKnn), 100, "F1"), Ms(g.Select(r => r.BackboneKnn), 100, "F1"),
                .. fidelityKeys.Select(k => (object)Ms(g.Select(r => r.Fidelity.GetValueOrDefault(k, double.NaN)), 1, "F2"))]);
        var paired = new MarkdownTable("A", "B", "A − B, points (95% CI)", "A only / B only", "McNemar p", "verdict");
        foreach (var c in result.Comparisons)
            paired.AddRow(c.A, c.B, $"{SignedFormat.Points(100 * c.MeanDifference)} ({SignedFormat.Points(100 * c.CiLow)}, {SignedFormat.Points(100 * c.CiHigh)})",
                $"{c.AOnly} / {c.BOnly}", PairedStatistics.FormatP(c.McNemarP), c.Verdict == "tie" ? "tie" : $"**{c.Verdict}**");
        return string.Create(CultureInfo.InvariantCulture,
            $"Budget {result.BudgetSeconds:F0} s of student compute per run, {result.Seeds} seed(s) per student (mean ± std); the {result.AdaptorTeacher} " +
            $"teacher's own kNN on the same split: {100 * result.TeacherKnn:F1}%. Data: {result.DataSource}.\n\n{table}\nPaired on the same held-out images (backbone summary kNN):\n\n{paired}");
    }
}
