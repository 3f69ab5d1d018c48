using Condense.Experiments.Vision;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Tests.Vision;

/// <summary>The study's paired comparisons on synthetic per-query outcomes.</summary>
public sealed class AgglomerationStudyTests
{
    // the first `right` of 200 queries right (shifted per seed so seeds differ a little)
    private static bool[] Outcomes(int right, int seed) => Enumerable.Range(0, 200).Select(i => (i + seed) % 200 < right).ToArray();

    private static DistillResult Result(int backboneRight, int seed, params (string Teacher, int TeacherRight, int StudentRight)[] knn)
    {
        var backbone = Outcomes(backboneRight, seed);
        var rows = knn.Select(k => new TeacherKnnRow(k.Teacher, k.TeacherRight / 200.0, k.StudentRight / 200.0, 0, 0)
        {
            TeacherKnnCorrect = Outcomes(k.TeacherRight, 0),
            StudentKnnCorrect = Outcomes(k.StudentRight, seed),
        }).ToList();
        return new DistillResult("", "", "", "", "", rows, new ClassificationRow("combined", 0, 0) { KnnCorrect = backbone },
            new ClassificationRow("backbone", backboneRight / 200.0, 0) { KnnCorrect = backbone }, [], [], null);
    }

    [Fact]
    public void Clear_differences_are_called_and_equal_arms_are_ties()
    {
        var runs = new Dictionary<string, List<DistillResult>>
        {
            ["resnet18"] = [.. Enumerable.Range(0, 3).Select(s => Result(150, s, ("resnet18", 140, 150)))],
            ["resnet8"] = [.. Enumerable.Range(0, 3).Select(s => Result(150 + s, s, ("resnet8", 130, 150 + s)))],
            ["hog"] = [.. Enumerable.Range(0, 3).Select(s => Result(120, s))],
            ["all"] = [.. Enumerable.Range(0, 3).Select(s => Result(150 + (s % 2), s, ("resnet18", 140, 151), ("resnet8", 130, 180)))],
        };
        var result = AgglomerationStudy.Compare(3, [], runs);
        AgglomerationComparison Q(string question) => result.Comparisons.Single(c => c.Question == question);
        Assert.Equal("tie", Q("all vs resnet18 alone: backbone summary").Verdict);
        Assert.Equal("A better", Q("all vs hog alone: backbone summary").Verdict);
        Assert.Equal("A better", Q("all vs resnet8 alone: through the resnet8 adaptor").Verdict);
        Assert.Equal("tie", Q("all vs resnet18 alone: through the resnet18 adaptor").Verdict);
        Assert.Equal("A better", Q("resnet18-only student vs its teacher (in-domain training alone)").Verdict);
        var hog = Q("all vs hog alone: backbone summary");
        Assert.Equal(0.15 + 1 / 600.0, hog.MeanDifference, 9);
        Assert.DoesNotContain(result.Comparisons, c => c.Question.Contains("hog adaptor", StringComparison.Ordinal));   // hog has no summary
        Assert.Contains("**A better**", AgglomerationStudy.ToMarkdown(result), StringComparison.Ordinal);
    }
}
