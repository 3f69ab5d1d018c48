// Mosaic augmentation measured (RADIOv2.5 finding 3): what a high-resolution teacher costs per student sample
// with and without mosaic, how far a mosaic tile's features are from the teacher run on that image alone, and the
// fidelity and kNN a student reaches when distilled from each.
//
// Setup: the expensive teacher is the ImageNet ResNet18 (ONNX) on a fixed canvas (default 256 px); the student sees
// 32-px Fashion-MNIST images. Without mosaic (k = 1) every image is upsampled to fill the canvas, one image per
// teacher pass; with k×k mosaic, k² different images share one canvas, each at canvas/k px, and the teacher's
// feature map is cut back into per-image tiles. A cheap summary teacher (MLPerf Tiny ResNet8 at 32 px) is kept
// identical in every arm so the kNN through its adaptor and of the backbone summary compare the same thing; the
// ResNet18's own summary loss is off in every arm (a mosaic has no per-image summary).
//
// Deviations:
// - The paper's mosaic teacher is a fixed-resolution ViT (SAM at 1024 px); the ResNet18 here accepts any size, so
//   running it on each image alone at the tile size is also possible and costs about the same as the mosaic; the
//   study reports that arm's cost too ("alone at tile size"), so the saving is read against the right baseline.
using System.Diagnostics;
using System.Globalization;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Vision.Distillation;
using Condense.Vision.Evaluation;
using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Experiments.Vision;

/// <summary>Teacher cost per sample for one way of feeding the high-resolution teacher.</summary>
/// <param name="Arm">"canvas" (one upsampled image per pass), "mosaic k×k", or "alone at tile size".</param>
/// <param name="ImagesPerPass">Student images per teacher forward pass (k²).</param>
/// <param name="TeacherInput">Pixels per side the teacher runs at.</param>
/// <param name="PixelsPerImage">Pixels per side each image occupies.</param>
/// <param name="FeatureGrid">Teacher feature tokens per side for each image.</param>
/// <param name="MsPerImage">Teacher milliseconds per student image (median of the repeats).</param>
/// <param name="TileVsAloneCosine">Mean cosine between mosaic tile features and the teacher run on the image alone
/// at the tile size (1 = no leakage across tiles); null where not applicable.</param>
/// <param name="TileVsAloneRelativeError">‖tile − alone‖² / ‖alone − mean‖², null where not applicable.</param>
public sealed record MosaicCostRow(string Arm, int ImagesPerPass, int TeacherInput, int PixelsPerImage, int FeatureGrid,
    double MsPerImage, double? TileVsAloneCosine, double? TileVsAloneRelativeError);

/// <summary>One distillation arm over seeds: mean ± std of each metric.</summary>
public sealed record MosaicArmRow(string Arm, int TilesPerSide, int Seeds,
    double OwnFidelity, double OwnFidelityStd, double CanvasFidelity, double CanvasFidelityStd,
    double Resnet8Knn, double Resnet8KnnStd, double BackboneKnn, double BackboneKnnStd,
    double TeacherMsPerImage);

/// <summary>Everything the mosaic study reports.</summary>
public sealed record MosaicStudyResult(int Canvas, IReadOnlyList<MosaicCostRow> Cost, IReadOnlyList<MosaicArmRow> Arms);

/// <summary>The mosaic-augmentation study: teacher cost, tile leakage and student quality with and without mosaic.</summary>
public static class MosaicStudy
{
    /// <summary>The high-resolution teacher of the study (index 0 of the default recipe).</summary>
    public const string Teacher = "resnet18";

    /// <summary>Base settings on top of the default recipe: a small, identical budget for every arm.</summary>
    public static readonly string[] BaseOverrides =
    [
        "name=mosaic-study", "data.train_images=3000", "data.test_images=500", "student.embed_dim=64", "student.depth=4",
        "train.steps=300", "train.warmup_steps=30", "train.checkpoint_every=0", "eval.probe_steps=100", "eval.pca_images=2",
        "adaptor.hidden=256", "teachers[0].summary_weight=0",
    ];

    /// <summary>
    /// Measures the teacher cost of every arm, then distils a student per mosaic size in <paramref name="tiles"/> (1, no
    /// mosaic, is always added) and seed into <paramref name="runDir"/>; returns the cost rows and each arm's mean ± std over seeds.
    /// </summary>
    public static MosaicStudyResult Run(string runDir, int canvas, IReadOnlyList<int> tiles, int seeds, IEnumerable<string> extraOverrides,
        ProgressMode progress, Action<string>? log = null)
    {
        if (seeds < 1) throw Condense.Core.InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        if (tiles.Count == 0 || tiles.Any(k => k < 1)) throw Condense.Core.InputException.ForOption("Tiles", ": every entry must be at least 1");
        if (!tiles.Contains(1)) tiles = [1, .. tiles];   // the no-mosaic arm is the reference
        var extra = extraOverrides.ToList();

        DistillRecipe RecipeFor(int k, int seed)
        {
            return RecipeLoader.LoadDefault([.. BaseOverrides, $"teachers[0].input_size={canvas}", $"teachers[0].mosaic={k}",
                $"train.seed={seed}", .. extra]).WithTeachers([Teacher, "resnet8"]);
        }

        log?.Invoke("[mosaic study] teacher cost and tile leakage");
        var cost = MeasureCost(RecipeFor(1, 0), canvas, tiles);

        var arms = new List<MosaicArmRow>();
        foreach (int k in tiles)
        {
            var runs = new List<(double Own, double Canvas, double R8, double Backbone, double Ms)>();
            for (int seed = 0; seed < seeds; seed++)
            {
                log?.Invoke($"[mosaic study] mosaic {k}x{k} seed {seed}");
                var dir = Path.Combine(runDir, $"mosaic{k}", $"seed{seed}");
                var result = Distiller.Run(RecipeFor(k, seed), new DistillRunOptions(dir, Progress: progress));
                double own = result.Fidelity.Single(f => f.Teacher == Teacher && f.Output == "features").Fidelity;
                double r8 = result.Knn.Single(r => r.Teacher == "resnet8").StudentKnn;
                double ms = result.TeacherCost.Single(c => c.Teacher == Teacher).MsPerImage;
                runs.Add((own, CanvasFidelity(dir, RecipeFor(1, seed), progress), r8, result.BackboneSummary.Knn, ms));
            }
            var ownStats = SeedStatistics.MeanStd(runs.Select(r => r.Own));
            var canvasStats = SeedStatistics.MeanStd(runs.Select(r => r.Canvas));
            var r8Stats = SeedStatistics.MeanStd(runs.Select(r => r.R8));
            var backboneStats = SeedStatistics.MeanStd(runs.Select(r => r.Backbone));
            arms.Add(new MosaicArmRow(k == 1 ? "canvas (no mosaic)" : $"mosaic {k}x{k}", k, seeds, ownStats.Mean, ownStats.Std,
                canvasStats.Mean, canvasStats.Std, r8Stats.Mean, r8Stats.Std, backboneStats.Mean, backboneStats.Std, runs[0].Ms));
        }
        return new MosaicStudyResult(canvas, cost, arms);
    }

    /// <summary>
    /// Teacher cost per image for each arm, timed on the same 64 training images (one warm-up pass, then the median
    /// of five), and the mosaic tiles' agreement with the teacher run on each image alone at the tile size.
    /// </summary>
    public static List<MosaicCostRow> MeasureCost(DistillRecipe recipe, int canvas, IReadOnlyList<int> tiles, int images = 64)
    {
        Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
        var data = DistillData.Load(recipe.Data);
        var spec = recipe.Teachers.Single(t => t.Name == Teacher);
        using var scope = torch.NewDisposeScope();
        var batch = DistillData.Images(data.Train, Enumerable.Range(0, Math.Min(images, data.Train.Count)).ToArray(), null);
        var rows = new List<MosaicCostRow>();
        foreach (int k in tiles)
        {
            var inner = TeacherRegistry.Create(new TeacherSpec(spec.Name, spec.Kind, canvas, spec.Options));
            int grid = inner.FeatureGrid ?? 0;
            if (canvas % k != 0 || grid % k != 0)
            {
                inner.Dispose();
                throw Condense.Core.InputException.ForOption("Tiles", $"{k}: canvas {canvas} px (feature grid {grid}) does not split into {k}x{k} tiles");
            }
            using ITeacher teacher = k == 1 ? inner : new MosaicTeacher(inner, k);   // the mosaic owns (and disposes) inner
            var (ms, features) = Time(teacher, batch);
            if (k == 1)
            {
                rows.Add(new MosaicCostRow("canvas (no mosaic)", 1, canvas, canvas, grid, ms, null, null));
                continue;
            }
            using var alone = TeacherRegistry.Create(new TeacherSpec(spec.Name, spec.Kind, canvas / k, spec.Options));
            var (aloneMs, aloneFeatures) = Time(alone, batch);
            if (aloneFeatures.shape[2] != features.shape[2])
                throw new InvalidOperationException($"tile grid {features.shape[2]} differs from the grid of the teacher alone at {canvas / k} px ({aloneFeatures.shape[2]})");
            double cosine = nn.functional.cosine_similarity(features, aloneFeatures, dim: 1).mean().item<float>();
            double relative = (features - aloneFeatures).pow(2).sum().item<float>()
                / (aloneFeatures - aloneFeatures.mean([0, 2, 3], keepdim: true)).pow(2).sum().item<float>();
            rows.Add(new MosaicCostRow($"mosaic {k}x{k}", k * k, canvas, canvas / k, grid / k, ms, cosine, relative));
            rows.Add(new MosaicCostRow($"alone at tile size ({canvas / k} px)", 1, canvas / k, canvas / k, grid / k, aloneMs, null, null));
        }
        return rows;

        static (double Ms, Tensor Features) Time(ITeacher teacher, Tensor batch)
        {
            var features = teacher.Forward(batch).Features!;            // warm-up (and the features compared)
            var times = new List<double>();
            for (int r = 0; r < 5; r++)
            {
                using var inner = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                teacher.Forward(batch);
                times.Add(clock.Elapsed.TotalMilliseconds / batch.shape[0]);
            }
            times.Sort();
            return (times[2], features);
        }
    }

    /// <summary>
    /// Fidelity of a trained student's ResNet18 feature head to the teacher run on the full canvas, one image per
    /// pass: the targets mosaic approximates. For the k = 1 arm it equals the run's own fidelity.
    /// </summary>
    private static double CanvasFidelity(string runDir, DistillRecipe reference, ProgressMode progress)
    {
        var (model, session, data, _, _) = Distiller.Load(runDir, progress);
        using (session)
        using (model)
        {
            var spec = reference.Teachers.Single(t => t.Name == Teacher);
            using var teacher = TeacherRegistry.Create(new TeacherSpec(spec.Name, spec.Kind, spec.InputSize, spec.Options));
            using var targets = new TeacherTargets(teacher, data.Test, data.TestKey, DistillSession.CacheRoot(reference));
            model.eval();
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var target = DistillEvaluator.Targets(targets, data.Test.Count).Features!;                              // (N, C, g, g)
            var predicted = DistillEvaluator.Embed(model, data.Test, reference.Data.Resolution, keepFeatures: true).Adaptors[Teacher].Features!;
            var p = GridMatching.Resize(predicted, target.shape[2], target.shape[3]);
            return Fidelity.Compute(p, target).Fidelity;
        }
    }

    /// <summary>The two result tables in Markdown.</summary>
    public static string ToMarkdown(MosaicStudyResult result)
    {
        var cost = new MarkdownTable(["feeding the teacher", "images / pass", "teacher px", "px / image", "tokens / image",
            "ms / image", "vs canvas", "tile vs alone: cosine", "rel. error"]);
        double baseline = result.Cost.First(c => c.ImagesPerPass == 1 && c.TeacherInput == result.Canvas).MsPerImage;
        foreach (var c in result.Cost)
            cost.AddRow([c.Arm, c.ImagesPerPass, c.TeacherInput, c.PixelsPerImage, $"{c.FeatureGrid}x{c.FeatureGrid}",
                F(c.MsPerImage, "F2"), F(baseline / c.MsPerImage, "F1") + "x faster", F(c.TileVsAloneCosine ?? double.NaN, "F3"), F(c.TileVsAloneRelativeError ?? double.NaN, "F3")]);
        var arms = new MarkdownTable(["arm", "seeds", "resnet18 fidelity (own targets)", "resnet18 fidelity (canvas targets)",
            "resnet8 adaptor kNN", "backbone summary kNN"]);
        foreach (var a in result.Arms)
            arms.AddRow([a.Arm, a.Seeds, Pm(a.OwnFidelity, a.OwnFidelityStd, 1, "F3"), Pm(a.CanvasFidelity, a.CanvasFidelityStd, 1, "F3"),
                Pm(a.Resnet8Knn, a.Resnet8KnnStd, 100, "F1"), Pm(a.BackboneKnn, a.BackboneKnnStd, 100, "F1")]);
        return $"{cost}\n\n{arms}";

        static string F(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);
        static string Pm(double m, double s, double scale, string format) =>
            $"{(m * scale).ToString(format, CultureInfo.InvariantCulture)} ± {(s * scale).ToString(format, CultureInfo.InvariantCulture)}";
    }

    /// <summary>Bar chart of teacher milliseconds per student image per way of feeding the teacher.</summary>
    public static void Plot(string path, MosaicStudyResult result) =>
        Plots.BarChart(path, "Teacher cost per student image (ResNet18)", "ms / image",
            result.Cost.Select(c => c.Arm).ToList(), result.Cost.Select(c => c.MsPerImage).ToList());
}
