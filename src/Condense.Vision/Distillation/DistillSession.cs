// The teachers of a distillation run, one TeacherSlot each, with their targets filled (cache) or measured (online),
// and the model and loss a recipe asks for over them.
using System.Diagnostics;
using Condense.Core.IO;
using Condense.Core.Training;
using Condense.Vision.Models;
using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using TorchSharp;

namespace Condense.Vision.Distillation;

/// <summary>The teachers of a run, one <see cref="TeacherSlot"/> each in recipe order; disposing it disposes them.</summary>
public sealed class DistillSession : IDisposable
{
    private DistillSession(List<TeacherSlot> slots) => Slots = slots;

    /// <summary>One slot per teacher, in recipe order.</summary>
    public IReadOnlyList<TeacherSlot> Slots { get; }

    /// <summary>The teachers' measured costs, in recipe order.</summary>
    public IReadOnlyList<TeacherCostRow> Cost => [.. Slots.Select(s => s.Cost)];

    /// <summary>Builds the recipe's teachers and fills their targets (one pass over the data, measuring each teacher's cost).</summary>
    public static DistillSession Open(DistillRecipe recipe, DistillData data, ProgressMode progress)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(data);
        var slots = new List<TeacherSlot>();
        try
        {
            string? cacheRoot = CacheRoot(recipe);
            var partitions = recipe.Data.Partitions();
            foreach (var t in recipe.Teachers)
            {
                var built = TeacherRegistry.Create(new TeacherSpec(t.Name, t.Kind, t.InputSize, t.Options));
                ITeacher teacher = t.Mosaic > 1 ? new MosaicTeacher(built, t.Mosaic) : built;
                TeacherTargets? train = null;
                try
                {
                    train = new TeacherTargets(teacher, data.Train, data.TrainKey, cacheRoot);
                    var test = new TeacherTargets(teacher, data.Test, data.TestKey, cacheRoot);
                    slots.Add(new TeacherSlot(t, teacher, train, test, t.Resolutions.Count == 0 ? partitions : t.Resolutions));
                }
                catch
                {
                    train?.Dispose();
                    teacher.Dispose();
                    throw;
                }
            }
            // One pass of every teacher over the data before training: the cost per image is measured here and
            // every later epoch (and rerun) reads the cache.
            foreach (var slot in slots) slot.Cost = FillTargets(slot, data, cacheRoot is not null, progress);
            return new DistillSession(slots);
        }
        catch
        {
            foreach (var s in slots) s.Dispose();
            throw;
        }
    }

    private static TeacherCostRow FillTargets(TeacherSlot slot, DistillData data, bool cached, ProgressMode progress)
    {
        var clock = Stopwatch.StartNew();
        long computed;
        if (!cached)
        {
            // online: time one batch of the teacher as the per-image cost
            using var scope = torch.NewDisposeScope();
            var idx = Enumerable.Range(0, Math.Min(64, data.Train.Count)).ToArray();
            slot.Teacher.Forward(DistillData.Images(data.Train, idx, null));
            computed = idx.Length;
            return new TeacherCostRow(slot.Name, slot.Teacher.InputSize, computed, clock.Elapsed.TotalMilliseconds / computed, 0);
        }
        foreach (var targets in new[] { slot.Train, slot.Test })
        {
            var cache = targets.Cache!;
            TrainingProgress.RunItems(progress, $"teacher {slot.Name}", cache.Count - cache.Filled,
                report => targets.Warm(64, n => report(n)));
        }
        var (train, test) = (slot.Train.Cache!, slot.Test.Cache!);
        double msPerImage = (train.MsPerImage * train.Count + test.MsPerImage * test.Count) / (train.Count + test.Count);
        return new TeacherCostRow(slot.Name, slot.Teacher.InputSize, train.Misses + test.Misses, msPerImage, train.Hits + test.Hits);
    }

    /// <summary>The teacher cache folder of a recipe, or null when the recipe runs teachers online.</summary>
    public static string? CacheRoot(DistillRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        return recipe.Train.Cache
            ? (recipe.Train.CacheDir.Length > 0 ? recipe.Train.CacheDir : Path.Combine(AssetPaths.RepositoryRoot() ?? ".", "artifacts", "teacher-cache"))
            : null;
    }

    /// <summary>
    /// The student (the registry's <c>student.model</c>, with the recipe's ViT sizes where the family has them and one
    /// summary token per summary teacher where it can) with one adaptor per slot, seeded by <c>train.seed</c>.
    /// </summary>
    public RadioDistillModel CreateModel(DistillRecipe recipe) => CreateModel(recipe, [.. Slots.Select(t => t.Head)]);

    /// <summary>
    /// The model of <see cref="CreateModel(DistillRecipe)"/> for teachers known only by their head widths (a saved
    /// model read without building its teachers).
    /// </summary>
    public static RadioDistillModel CreateModel(DistillRecipe recipe, IReadOnlyList<TeacherHeadSpec> heads)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(heads);
        var s = recipe.Student;
        var l = recipe.Loss;
        torch.manual_seed(recipe.Train.Seed);
        var normalizers = l.FeatureNormalizer == "none" ? null : new Normalization.TeacherNormalizers(l.FeatureNormalizer,
            heads.Where(t => t.FeatureDim is not null).ToDictionary(t => t.Name, t => t.FeatureDim!.Value),
            l.NormalizerUpdatePeriod, l.NormalizerWarmupSamples > 0 ? l.NormalizerWarmupSamples : null);
        var balancer = l.Balancing == TeacherLossBalancer.Equal ? null : new TeacherLossBalancer(l.Balancing, [.. heads.Select(t => t.Name)]);
        var backbone = ModelRegistry.Create(s.Model, new BackboneOptions(
            Resolution: recipe.Data.Resolution,
            NumClasses: 0,
            Vit: new VitSize(s.PatchSize, s.EmbedDim, s.Depth, s.NumHeads, s.MlpRatio, s.MaxResolution, s.NumRegisters < 0 ? null : s.NumRegisters),
            SummaryTokens: heads.Count(h => h.SummaryDim is not null)));
        // a backbone that is a distillation student itself (the RADIO ViT) is used as is; any other is wrapped
        var student = backbone as IDistillStudent ?? new BackboneStudent(backbone);
        return new RadioDistillModel(student, heads, recipe.Adaptor.Hidden > 0 ? recipe.Adaptor.Hidden : null, recipe.Adaptor.NumInner,
            featureNormalizers: normalizers, lossBalancer: balancer);
    }

    /// <summary>The recipe's loss over this session's teachers (weights from their slots).</summary>
    public DistillationLoss CreateLoss(DistillRecipe recipe, RadioDistillModel model)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(model);
        var l = recipe.Loss;
        return new DistillationLoss(Slots.ToDictionary(t => t.Name, t => t.Weights), GridMatching.ParseMode(l.GridMatching),
            l.FeatureCosineWeight, l.FeatureSmoothL1Weight, l.SmoothL1Beta, featureNormalizers: model.FeatureNormalizers,
            balancer: model.LossBalancer, mseDistance: l.FeatureDistance == "mse");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in Slots) s.Dispose();
    }
}
