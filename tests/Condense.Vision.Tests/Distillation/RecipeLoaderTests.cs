using Condense.Core;
using Condense.Core.IO;
using Condense.Vision.Distillation;

namespace Condense.Vision.Tests.Distillation;

public sealed class RecipeLoaderTests
{
    private static string DefaultRecipe => Path.Combine(AssetPaths.RepositoryRoot()!, "configs", "radio", "default.yaml");

    [Fact]
    public void DefaultRecipeLoadsWithAtLeastTwoTeachers()
    {
        var r = RecipeLoader.Load(DefaultRecipe);
        Assert.True(r.Teachers.Count >= 2);
        Assert.Equal(r.Teachers.Count, r.Teachers.Select(t => t.Kind).Distinct().Count());
    }

    [Fact]
    public void OverridesReachNestedKeysAndListItems()
    {
        var r = RecipeLoader.Load(DefaultRecipe, ["train.steps=7", "teachers[0].input_size=64", "loss.grid_matching=smaller"]);
        Assert.Equal(7, r.Train.Steps);
        Assert.Equal(64, r.Teachers[0].InputSize);
        Assert.Equal("smaller", r.Loss.GridMatching);
    }

    [Theory]
    [InlineData("train.stepz=5", "unknown key 'stepz'")]
    [InlineData("train.steps=many", "train")]
    [InlineData("teachers[9].name=x", "no item 9")]
    [InlineData("data.resolution=30", "data.resolution = 30")]
    [InlineData("loss.grid_matching=nearest", "loss.grid_matching")]
    [InlineData("steps", "not key=value")]
    public void BadOverridesNameTheKey(string assignment, string expected)
    {
        var ex = Assert.Throws<InputException>(() => RecipeLoader.Load(DefaultRecipe, [assignment]));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void UnknownKeyInAFileNamesFileAndKey()
    {
        var path = Path.Combine(Path.GetTempPath(), $"recipe-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: x\ntrain:\n  stepz: 5\n");
        try
        {
            var ex = Assert.Throws<InputException>(() => RecipeLoader.Load(path));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains("stepz", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RecipesChangeOnlyIntoCopies()
    {
        var r = RecipeLoader.Load(DefaultRecipe);
        var names = r.Teachers.Select(t => t.Name).ToList();
        var two = r.WithTeachers([names[^1], names[0]]);
        var longer = r with { Train = r.Train with { Steps = r.Train.Steps + 1 } };
        Assert.Equal(names, r.Teachers.Select(t => t.Name));                   // the original is untouched
        Assert.Equal(new[] { names[0], names[^1] }, two.Teachers.Select(t => t.Name));   // recipe order kept
        Assert.Equal(r.Train.Steps + 1, longer.Train.Steps);
        Assert.Same(r.Data, longer.Data);
        var e = Assert.Throws<InputException>(() => r.WithTeachers(["nope"]));
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecipeRoundTripsThroughYaml()
    {
        var r = RecipeLoader.Load(DefaultRecipe, ["train.seed=3"]);
        var path = Path.Combine(Path.GetTempPath(), $"recipe-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, RecipeLoader.ToYaml(r));
        try
        {
            Assert.Equal(RecipeLoader.ToYaml(r), RecipeLoader.ToYaml(RecipeLoader.Load(path)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("", "the recipe is empty")]
    [InlineData("# only a comment\n", "the recipe is empty")]
    [InlineData("- a\n- b\n", "a recipe is a YAML mapping (data, student, teachers, ...), not a list")]
    [InlineData("teachers: [resnet8\n  student:\n bad: 1\n", "invalid YAML")]
    [InlineData("train:\n  batch_size: abc\n", "train.batch_size:")]
    [InlineData("teachers:\n- name: hog\n  kind: hog\n  resolutions:\n", "teachers[0].resolutions has no value")]
    [InlineData("teachers: [a\n  -b", "invalid YAML")]
    public void MalformedRecipeTextIsOneLineNamingWhatIsWrong(string yaml, string expected)
    {
        var ex = Assert.Throws<InputException>(() => RecipeLoader.Parse(yaml, "bad.yaml"));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.yaml", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void NegativeBatchSizeIsBlamedOnTheBatchSizeNotOnThePartitions()
    {
        var ex = Assert.Throws<InputException>(() => RecipeLoader.Load(Path.Combine(AssetPaths.RepositoryRoot()!, "configs", "radio", "default.yaml"), ["train.batch_size=-4"]));
        Assert.Contains("train.batch_size = -4: must be positive", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>Where the distillation data comes from, with and without the full Fashion-MNIST installed.</summary>
public sealed class DistillDataTests
{
    [Fact]
    public void WithoutTheFullSetTheShippedTestSetIsSplitWithoutOverlap()
    {
        var saved = Environment.GetEnvironmentVariable(AssetPaths.FashionMnistEnvVar);
        Environment.SetEnvironmentVariable(AssetPaths.FashionMnistEnvVar, "/nonexistent/fashion-mnist");
        try
        {
            var data = DistillData.Load(new DataRecipe { TrainImages = 12000, TestImages = 1000 });   // the default recipe's sizes
            Assert.Equal(9000, data.Train.Count);
            Assert.Equal(1000, data.Test.Count);
            Assert.Contains("shipped", data.Source, StringComparison.Ordinal);
            Assert.Contains("12000 requested", data.Source, StringComparison.Ordinal);
            // disjoint: held-out images are the first 1,000, training images the last 9,000 of the 10k test set
            Assert.NotEqual(data.TrainKey.Split('/')[^1], data.TestKey.Split('/')[^1]);
            Assert.Equal(1000 * 784, data.Test.Images.Pixels.Length);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AssetPaths.FashionMnistEnvVar, saved);
        }
    }

    [Fact]
    public void WithTheFullSetTrainingImagesComeFromTheTrainingSplit()
    {
        var data = DistillData.Load(new DataRecipe { TrainImages = 500, TestImages = 100 });
        Assert.Contains(AssetPaths.FashionMnistSystemDir, data.Source, StringComparison.Ordinal);
        Assert.Equal(500, data.Train.Count);
    }
}
