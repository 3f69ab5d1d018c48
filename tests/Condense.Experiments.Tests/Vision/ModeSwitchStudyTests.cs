using Condense.Core.Training;
using Condense.Experiments.Vision;
using Condense.Testing;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Tests.Vision;

/// <summary>The mode-switch sweep on a short real run: every resolution, every teacher output, a plot and a table.</summary>
public sealed class ModeSwitchStudyTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-mode-switch-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void SweepCoversEveryResolutionAndWritesThePlotAndTable()
    {
        var recipe = RecipeLoader.LoadDefault(
        [
            "data.train_images=128", "data.test_images=64", "train.steps=4", "train.batch_size=32", "train.warmup_steps=1",
            "train.checkpoint_every=0", "student.depth=2", "student.embed_dim=64", "eval.probe_steps=10", "eval.pca_images=2",
            $"train.cache_dir={Path.Combine(_root, "cache")}", "teachers[2].input_size=32",
        ]).WithTeachers(["resnet8", "hog"]);
        var run = Path.Combine(_root, "run");
        Distiller.Run(recipe, new DistillRunOptions(run, Progress: ProgressMode.None));

        int[] resolutions = [16, 32, 48];
        var (rows, plot) = ModeSwitchStudy.Run(run, resolutions, Path.Combine(_root, "eval"), ProgressMode.None);
        Assert.True(new FileInfo(plot).Length > 0);
        Assert.Equal(resolutions.Length * 3, rows.Count);                        // resnet8 summary + features, hog features
        Assert.All(rows, r => Assert.True(r.Fidelity > 0 && double.IsFinite(r.Fidelity), $"{r.Teacher} {r.Output} at {r.Resolution}"));
        var table = ModeSwitchStudy.ToMarkdown(rows, resolutions);
        Assert.Contains("| teacher / output | 16 px | 32 px | 48 px |", table, StringComparison.Ordinal);
        Assert.Contains("| hog features |", table, StringComparison.Ordinal);
    }
}
