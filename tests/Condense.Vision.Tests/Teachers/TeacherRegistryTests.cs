using Condense.Core;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

public sealed class TeacherRegistryTests
{
    [Fact]
    public void Built_in_teachers_are_created_by_name()
    {
        using var scope = NewDisposeScope();
        using var resnet = TeacherRegistry.Create("resnet8_cifar10");
        using var mobilenet = TeacherRegistry.Create("mobilenetv1_vww", inputSize: 64);
        using var hog = TeacherRegistry.Create(new TeacherSpec("hog_fine", "hog", 64,
            new Dictionary<string, string> { ["cell_size"] = "4", ["patch_size"] = "8", ["bins"] = "12" }));

        Assert.Equal(("resnet8_cifar10", 32, 64), (resnet.Name, resnet.InputSize, resnet.SummaryDim));
        Assert.Equal(("mobilenetv1_vww", 64, 2), (mobilenet.Name, mobilenet.InputSize, mobilenet.FeatureGrid));
        Assert.Equal(("hog_fine", 64, 3 * 12 * 4, 8), (hog.Name, hog.InputSize, hog.FeatureDim, hog.FeatureGrid));
        var images = rand(1, 3, 40, 40);
        Assert.Equal(new long[] { 1, 144, 8, 8 }, hog.Forward(images).Features!.shape);
        Assert.Equal(new long[] { 1, 256, 2, 2 }, mobilenet.Forward(images).Features!.shape);
        Assert.Contains("hog", TeacherRegistry.Kinds);
    }

    [Fact]
    public void Unknown_teacher_names_it_and_lists_the_known_ones()
    {
        var ex = Assert.Throws<InputException>(() => TeacherRegistry.Create("dinov2_giant"));
        Assert.Contains("'dinov2_giant'", ex.Message, StringComparison.Ordinal);
        foreach (var known in new[] { "resnet8_cifar10", "mobilenetv1_vww", "hog" })
            Assert.Contains(known, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_options_are_input_errors()
    {
        Assert.Throws<InputException>(() => TeacherRegistry.Create(new TeacherSpec("h", "hog", null,
            new Dictionary<string, string> { ["cell"] = "4" })));
        Assert.Throws<InputException>(() => TeacherRegistry.Create(new TeacherSpec("h", "hog", null,
            new Dictionary<string, string> { ["bins"] = "nine" })));
        Assert.Throws<InputException>(() => TeacherRegistry.Create(new TeacherSpec("h", "hog", 100)));
        Assert.Throws<InputException>(() => TeacherRegistry.Create(new TeacherSpec("r", "resnet8_cifar10", null,
            new Dictionary<string, string> { ["weights"] = "/nonexistent/resnet8.safetensors" })));
    }

    [Fact]
    public void External_factories_can_be_registered_once()
    {
        var kind = $"test_external_{Guid.NewGuid():N}";
        TeacherSpec? seen = null;
        TeacherRegistry.Register(kind, spec =>
        {
            seen = spec;
            return new HogTeacher(new HogConfig(InputSize: spec.InputSize ?? 32), spec.Name);
        });
        using var teacher = TeacherRegistry.Create(new TeacherSpec("mine", kind, 48));
        Assert.Equal(("mine", 48), (teacher.Name, teacher.InputSize));
        Assert.Equal(kind, seen!.Kind);
        Assert.Contains(kind, TeacherRegistry.Kinds);
        Assert.Throws<ArgumentException>(() => TeacherRegistry.Register(kind, _ => teacher));
        Assert.Throws<ArgumentException>(() => TeacherRegistry.Register("hog", _ => teacher));
    }
}
