using Condense.Experiments.Vision;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Tests.Vision;

/// <summary>The study's ranking: means over seeds, ties when means differ by less than the seed noise.</summary>
public sealed class PhiSStudyTests
{
    private static DistillResult Result(double mse, double knn) => new("", "", "", "", "",
        [new TeacherKnnRow("t", 0.9, knn, 0.9, knn)], new ClassificationRow("combined", knn, knn), new ClassificationRow("backbone", knn, knn),
        [new FidelityRow("t", "features", mse, 0.9, 1, 1 / mse)], [], null);

    [Fact]
    public void ArmsAreRankedPerMetricWithTiesWithinSeedNoise()
    {
        var arms = PhiSStudy.Rank(
        [
            ("a", "", [Result(1.0, 0.80), Result(1.2, 0.82)]),
            ("b", "", [Result(1.05, 0.70), Result(1.15, 0.71)]),     // same MSE mean as a: a tie
            ("c", "", [Result(3.0, 0.50), Result(3.1, 0.52)]),
        ]);
        var a = arms.Single(x => x.Name == "a");
        var b = arms.Single(x => x.Name == "b");
        var c = arms.Single(x => x.Name == "c");
        Assert.Equal(1.5, a.Metrics.Single(m => m.Name == "t feature MSE").Rank);
        Assert.Equal(1.5, b.Metrics.Single(m => m.Name == "t feature MSE").Rank);
        Assert.Equal(3, c.Metrics.Single(m => m.Name == "t feature MSE").Rank);
        Assert.Equal(1, a.Metrics.Single(m => m.Name == "t kNN").Rank);
        Assert.Equal(2, b.Metrics.Single(m => m.Name == "t kNN").Rank);
        Assert.Equal(0.81, a.Metrics.Single(m => m.Name == "t kNN").Mean, 9);
        Assert.Equal(Math.Sqrt(0.0002), a.Metrics.Single(m => m.Name == "t kNN").Std, 9);
        Assert.True(a.AverageRank < b.AverageRank && b.AverageRank < c.AverageRank);
        Assert.Contains("| a |", PhiSStudy.ToMarkdown(arms), StringComparison.Ordinal);
    }

    [Fact]
    public void Paired_differences_against_PHI_S_call_ties_when_the_interval_holds_zero()
    {
        var rows = PhiSStudy.Paired(
        [
            ("phi-s", "", [Result(1.0, 0.80), Result(1.1, 0.70), Result(1.2, 0.75)]),
            ("a", "", [Result(2.0, 0.81), Result(2.1, 0.69), Result(2.2, 0.77)]),     // MSE always +1: worse; kNN noise: tie
            ("b", "", [Result(1.0, 0.90), Result(1.1, 0.81), Result(1.2, 0.86)]),     // kNN +10..11 points: better
        ], "phi-s");
        PairedDifference Row(string arm, string metric) => rows.Single(r => r.Arm == arm && r.Metric == metric);
        Assert.Equal("worse", Row("a", "t feature MSE").Verdict);
        Assert.Equal(1.0, Row("a", "t feature MSE").Mean, 9);
        Assert.Equal("tie", Row("a", "t kNN").Verdict);
        Assert.Equal("better", Row("b", "t kNN").Verdict);
        Assert.Equal("tie", Row("b", "t feature MSE").Verdict);
        Assert.DoesNotContain(rows, r => r.Arm == "phi-s");
        Assert.Contains("**worse**", PhiSStudy.PairedToMarkdown(rows), StringComparison.Ordinal);
        Assert.Empty(PhiSStudy.Paired([("a", "", [Result(1, 0.5)])], "phi-s"));
    }

    [Fact]
    public void Every_teacher_freezes_at_the_same_step_in_the_study()
    {
        Assert.Contains("loss.normalizer_freeze_step=50", PhiSStudy.BaseOverrides);
        Assert.DoesNotContain(PhiSStudy.BaseOverrides, o => o.StartsWith("loss.normalizer_warmup_samples", StringComparison.Ordinal));
        var recipe = RecipeLoader.LoadDefault([.. PhiSStudy.BaseOverrides, "loss.feature_normalizer=phi-s"]);
        Assert.Equal(50, recipe.Loss.NormalizerFreezeStep);
        Assert.Throws<Condense.Core.InputException>(() => RecipeLoader.LoadDefault(["loss.normalizer_freeze_step=-1"]));
    }

    [Fact]
    public void EveryArmOfThePaperIsPresent()
    {
        Assert.Equal(["mse", "cosine", "hyb-mse", "hyb-smL1", "global-std", "std", "pca-w", "zca", "hca", "phi-s"], PhiSStudy.Arms.Select(a => a.Name));
    }
}
