using Condense.Vision.Distillation;

namespace Condense.Vision.Tests.Distillation;

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
    public void EveryArmOfThePaperIsPresent()
    {
        Assert.Equal(["mse", "cosine", "hyb-mse", "hyb-smL1", "global-std", "std", "pca-w", "zca", "hca", "phi-s"], PhiSStudy.Arms.Select(a => a.Name));
    }
}
