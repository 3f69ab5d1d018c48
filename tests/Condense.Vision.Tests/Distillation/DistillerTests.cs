using Condense.Core;
using Condense.Core.Training;
using Condense.Testing;
using Condense.Vision.Distillation;

namespace Condense.Vision.Tests.Distillation;

/// <summary>
/// A short real distillation: real Fashion-MNIST images, two real teachers with different objectives (the
/// CIFAR-10 ResNet8 and HOG), the AM-RADIO student; the loss must fall and the report must be complete.
/// </summary>
public sealed class DistillerTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-distill-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    // the default recipe's CIFAR-10 ResNet8 and HOG teachers (cheap), at 32 px, on a small split
    private DistillRecipe Recipe(params string[] extra)
    {
        return RecipeLoader.LoadDefault(
        [
            "data.train_images=256", "data.test_images=128", "train.steps=60", "train.batch_size=32", "train.warmup_steps=5",
            "train.checkpoint_every=30", "student.depth=2", "student.embed_dim=64", "eval.probe_steps=50",
            $"train.cache_dir={Path.Combine(_root, "cache")}", "teachers[2].input_size=32", .. extra,
        ]).WithTeachers(["resnet8", "hog"]);
    }

    [Fact]
    public void SessionBuildsOneSlotPerTeacherWithItsWeightsAndPartitions()
    {
        var r = Recipe("data.train_resolutions=[32,64]", "teachers[1].summary_weight=0.5", "teachers[2].resolutions=[64]",
            "data.train_images=64", "data.test_images=32");
        using var session = DistillSession.Open(r, DistillData.Load(r.Data), ProgressMode.None);
        Assert.Equal(new[] { "resnet8", "hog" }, session.Slots.Select(s => s.Name));
        var (resnet, hog) = (session.Slots[0], session.Slots[1]);
        Assert.Equal(0.5, resnet.Weights.Summary);
        Assert.Equal(1.0, hog.Weights.Feature);
        Assert.Equal(new[] { 32, 64 }, resnet.Resolutions);
        Assert.True(hog.MatchedAt(64));
        Assert.False(hog.MatchedAt(32));
        Assert.Null(hog.Head.SummaryDim);
        Assert.Equal(new[] { "resnet8", "hog" }, session.Cost.Select(c => c.Teacher));
        using var model = session.CreateModel(r);
        Assert.Equal(1, model.SummaryTokenIndex("resnet8") + 1);                  // one summary token: the one summary teacher's
        Assert.Equal(r.Student.EmbedDim, model.SummaryWidth);
    }

    [Fact]
    public void ShortRealDistillationLowersTheLossAndReports()
    {
        var result = Distiller.Run(Recipe(), new DistillRunOptions(Path.Combine(_root, "run"), Progress: ProgressMode.None));
        var losses = result.Training!.Losses;
        Assert.Equal(60, losses.Count);
        Assert.True(losses.Skip(50).Average() < 0.8 * losses.Take(5).Average(),
            $"loss did not fall: first {losses[0]:F3}, last {losses[^1]:F3}");
        var knn = Assert.Single(result.Knn);                         // HOG has no summary
        Assert.Equal("resnet8", knn.Teacher);
        Assert.InRange(knn.TeacherKnn, 0.3, 1.0);                    // the teacher's own embedding separates classes
        Assert.InRange(knn.StudentKnn, 0.15, 1.0);                   // well above chance (10%) after 60 steps
        Assert.Contains(result.Fidelity, f => f.Teacher == "hog" && f.Output == "features");
        Assert.True(File.Exists(result.ReportPath));
        Assert.True(File.Exists(result.PcaPath));
        Assert.True(File.Exists(Path.Combine(result.RunDir, "plots", "loss.png")));
        var report = File.ReadAllText(result.ReportPath);
        Assert.Contains("| resnet8 |", report, StringComparison.Ordinal);

        // the saved student evaluates again from its checkpoint alone
        var again = Distiller.Evaluate(Path.Combine(_root, "run"), Path.Combine(_root, "eval"), ProgressMode.None);
        Assert.Equal(knn.StudentKnn, again.Knn[0].StudentKnn, 6);
    }

    [Fact]
    public void CachedAndOnlineTeachersTrainTheSameStudent()
    {
        var cached = Distiller.Run(Recipe("train.steps=8"), new DistillRunOptions(Path.Combine(_root, "a"), Progress: ProgressMode.None));
        var online = Distiller.Run(Recipe("train.steps=8", "train.cache=false"), new DistillRunOptions(Path.Combine(_root, "b"), Progress: ProgressMode.None));
        // the cache stores float16, so the losses agree closely but not bit for bit
        for (int i = 0; i < 8; i++) Assert.Equal(online.Training!.Losses[i], cached.Training!.Losses[i], 2);
    }

    [Fact]
    public void AMosaicTeacherTrainsOnTilesOfItsCanvas()
    {
        var result = Distiller.Run(Recipe("train.steps=8", "teachers[2].mosaic=2"), new DistillRunOptions(Path.Combine(_root, "mosaic"), Progress: ProgressMode.None));
        Assert.Equal(8, result.Training!.Steps);
        Assert.Contains(result.Fidelity, f => f.Teacher == "hog" && f.Output == "features");
        Assert.Equal(16, result.TeacherCost.Single(c => c.Teacher == "hog").InputSize);   // each image is a 16-px tile of a 32-px canvas
    }

    [Fact]
    public void MultiResolutionPartitionsTrainAndTheModeSwitchSweepReportsEveryResolution()
    {
        var dir = Path.Combine(_root, "multires");
        var result = Distiller.Run(Recipe("train.steps=6", "data.train_resolutions=[16,32]", "teachers[2].resolutions=[32]"),
            new DistillRunOptions(dir, Progress: ProgressMode.None));
        Assert.All(result.Training!.Losses, l => Assert.True(double.IsFinite(l)));
        var (model, session, data, _, _) = Distiller.Load(dir, ProgressMode.None);
        List<ModeSwitchRow> rows;
        using (session)
        using (model)
            rows = DistillEvaluator.ModeSwitch(model, session, data, [16, 24, 32]);
        foreach (var r in new[] { 16, 24, 32 })
        {
            Assert.Contains(rows, x => x.Resolution == r && x.Teacher == "hog" && x.Output == "features" && x.Fidelity > 0);
            Assert.Contains(rows, x => x.Resolution == r && x.Teacher == "resnet8" && x.Output == "summary");
        }
    }

    [Theory]
    [InlineData("adaloss")]
    [InlineData("uncertainty")]
    public void BalancedLossesTrainAndResumeExactly(string balancing)
    {
        string[] settings = ["train.steps=20", "train.checkpoint_every=10", $"loss.balancing={balancing}"];
        var full = Distiller.Run(Recipe(settings), new DistillRunOptions(Path.Combine(_root, "full"), Progress: ProgressMode.None));
        Assert.All(full.Training!.Losses, l => Assert.True(double.IsFinite(l)));
        var resumedDir = Path.Combine(_root, "resumed");
        Directory.CreateDirectory(Path.Combine(resumedDir, "checkpoints"));
        File.Copy(TrainingCheckpoint.PathFor(Path.Combine(_root, "full"), 10), TrainingCheckpoint.PathFor(resumedDir, 10));
        Distiller.Run(Recipe(settings), new DistillRunOptions(resumedDir, Progress: ProgressMode.None));
        Assert.Equal(full.Training.Losses.Skip(10), MetricsLog.Read(Path.Combine(resumedDir, "metrics.jsonl")).Select(r => r["loss"]));
    }

    [Theory]
    [InlineData("phi-s")]
    [InlineData("std")]
    public void NormalizedTargetsTrainAndTheirStatisticsResumeExactly(string normalizer)
    {
        string[] settings = ["train.steps=20", "train.checkpoint_every=10", $"loss.feature_normalizer={normalizer}",
            "loss.normalizer_update_period=3", "loss.normalizer_warmup_samples=100000"];
        var full = Distiller.Run(Recipe(settings), new DistillRunOptions(Path.Combine(_root, "full"), Progress: ProgressMode.None));
        Assert.All(full.Training!.Losses, l => Assert.True(double.IsFinite(l)));
        Assert.Contains(full.Fidelity, f => f.Teacher == "hog" && f.Output == "features" && f.Fidelity > 0);   // mapped back to HOG units
        var keys = Condense.Core.Checkpoints.Safetensors.ReadHeader(full.Training.ModelPath).Tensors.Select(t => t.Name).ToList();
        Assert.Contains(keys, k => k.StartsWith("normalizers.hog__normalizer_", StringComparison.Ordinal));
        using (var saved = Condense.Core.Checkpoints.Safetensors.Load(full.Training.ModelPath))
            Assert.True(saved.Tensors["normalizers.hog__estimator_fits"].item<long>() >= 6, "fitted every 3 of 20 steps");

        // the inverse folded into the feature heads gives the same fidelity with no normalizer at inference
        var folded = Distiller.Evaluate(Path.Combine(_root, "full", "model_folded.safetensors"), Path.Combine(_root, "folded-eval"), ProgressMode.None);
        var plain = full.Fidelity.Single(f => f.Teacher == "hog" && f.Output == "features");
        Assert.Equal(plain.Mse, folded.Fidelity.Single(f => f.Teacher == "hog" && f.Output == "features").Mse, 4);

        // a run that stopped at step 10 (its checkpoint) and is resumed continues with the same statistics
        var resumedDir = Path.Combine(_root, "resumed");
        Directory.CreateDirectory(Path.Combine(resumedDir, "checkpoints"));
        File.Copy(TrainingCheckpoint.PathFor(Path.Combine(_root, "full"), 10), TrainingCheckpoint.PathFor(resumedDir, 10));
        var resumed = Distiller.Run(Recipe(settings), new DistillRunOptions(resumedDir, Progress: ProgressMode.None));
        Assert.Equal(10, resumed.Training!.ResumedFromStep);
        Assert.Equal(full.Training.Losses.Skip(10), MetricsLog.Read(Path.Combine(resumedDir, "metrics.jsonl")).Select(r => r["loss"]));
    }

    [Theory]
    [InlineData("loss.feature_normalizer=whiten", "loss.feature_normalizer")]
    [InlineData("loss.balancing=gradnorm", "loss.balancing")]
    [InlineData("data.train_resolutions=[32,30]", "data.train_resolutions = 30")]
    [InlineData("teachers[2].resolutions=[64]", "teachers[2].resolutions = 64")]
    [InlineData("teachers[1].kind=dinov9", "unknown teacher 'dinov9'")]
    [InlineData("data.resolution=30", "data.resolution = 30")]
    [InlineData("student.model=convnext", "student.model = convnext")]
    [InlineData("teachers[2].mosaic=3", "not divisible into 3x3 tiles")]
    public void BadRecipesNameTheThing(string assignment, string expected)
    {
        var ex = Assert.Throws<InputException>(() => Distiller.Run(Recipe(assignment), new DistillRunOptions(Path.Combine(_root, "bad"), Progress: ProgressMode.None)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
