using Condense.Core;
using Condense.Core.Training;
using Condense.Testing;
using Condense.Vision.Distillation;

namespace Condense.Vision.Tests.Models;

/// <summary>
/// FasterViT and E-RADIO as the AM-RADIO student: a short real distillation (Fashion-MNIST at 64 px, the CIFAR-10
/// ResNet8 and HOG teachers) through the same Distiller as the ViT student; the loss must fall.
/// </summary>
public sealed class BackboneDistillTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-backbone-distill-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("fastervit_micro")]
    [InlineData("eradio_micro")]
    public void Backbone_student_distills_and_its_loss_falls(string student)
    {
        var recipe = RecipeLoader.LoadDefault(
        [
            $"student.model={student}", "data.resolution=64", "data.train_images=256", "data.test_images=128",
            "train.steps=50", "train.batch_size=32", "train.warmup_steps=5", "train.checkpoint_every=50",
            "eval.probe_steps=30", $"train.cache_dir={Path.Combine(_root, "cache")}", "teachers[2].input_size=32",
        ]).WithTeachers(["resnet8", "hog"]);
        var result = Distiller.Run(recipe, new DistillRunOptions(Path.Combine(_root, student), Progress: ProgressMode.None));
        var losses = result.Training!.Losses;
        Assert.Equal(50, losses.Count);
        Assert.True(losses.Skip(40).Average() < 0.8 * losses.Take(5).Average(),
            $"{student}: loss did not fall: first {losses[0]:F3}, last {losses[^1]:F3}");
        Assert.InRange(Assert.Single(result.Knn).StudentKnn, 0.15, 1.0);   // above chance (10%)
        Assert.Contains(result.Fidelity, f => f.Teacher == "hog" && f.Output == "features");
        // the saved student evaluates again from its checkpoint (the recipe names the backbone)
        var again = Distiller.Evaluate(Path.Combine(_root, student), Path.Combine(_root, student + "-eval"), ProgressMode.None);
        Assert.Equal(result.Knn[0].StudentKnn, again.Knn[0].StudentKnn, 6);
    }

    [Fact]
    public void Unknown_student_is_an_input_error_naming_the_field()
    {
        var e = Assert.Throws<InputException>(() => RecipeLoader.LoadDefault(["student.model=resnet50"]));
        Assert.Contains("student.model", e.Message, StringComparison.Ordinal);
        Assert.Contains("fastervit_0", e.Message, StringComparison.Ordinal);
    }
}
