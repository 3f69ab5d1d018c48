using Condense.Core;
using Condense.Core.IO;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

public sealed class OnnxTeacherTests(OnnxTeacherFixture fixture) : IClassFixture<OnnxTeacherFixture>
{
    private static readonly string[] Labels =
        File.ReadAllLines(AssetPaths.Require("models/onnx/imagenet_labels.txt"));

    [Fact]
    public void ResNet18_gives_a_512d_summary_and_512x7x7_features()
    {
        using var scope = NewDisposeScope();
        var teacher = fixture.ResNet18;
        var output = teacher.Forward(cat([fixture.Kitten, fixture.Fish]));
        Assert.Equal(new long[] { 2, 512 }, output.Summary!.shape);
        Assert.Equal(new long[] { 2, 512, 7, 7 }, output.Features!.shape);
        Assert.Equal(ScalarType.Float32, output.Features.dtype);
        Assert.Equal((512, 512, 7), (teacher.SummaryDim, teacher.FeatureDim, teacher.FeatureGrid));
        Assert.True(teacher.RunsWholeBatch, teacher.BatchNote);
        Assert.Equal(224, teacher.InputSize);
        Assert.Equal("resnet18", teacher.Name);
    }

    [Fact]
    public void ResNet18_mean_pooled_features_equal_its_pooled_summary()
    {
        using var scope = NewDisposeScope();
        var output = fixture.ResNet18.Forward(cat([fixture.Kitten, fixture.Fish]));
        var pooled = output.Features!.mean([2, 3]);                          // (2, 512)
        AssertClose(output.Summary!, pooled, 1e-4);
        Assert.True(output.Summary!.abs().max().item<float>() > 0.1f, "summary is all zeros");
    }

    [Fact]
    public void SqueezeNet_ranks_a_cat_first_on_the_kitten_and_a_fish_first_on_the_fish()
    {
        using var scope = NewDisposeScope();
        var teacher = fixture.SqueezeNet;
        var output = teacher.Forward(cat([fixture.Kitten, fixture.Fish]));
        Assert.Equal(new long[] { 2, 1000 }, output.Summary!.shape);
        Assert.Equal(new long[] { 2, 512, 13, 13 }, output.Features!.shape);
        var top = output.Summary.argmax(1);
        var kitten = (int)top[0].item<long>();
        var fish = (int)top[1].item<long>();
        Assert.True(kitten is >= 281 and <= 285, $"kitten top-1 is {Labels[kitten]}");
        // The photo is a tench (0). ImageNet's fish: tench, goldfish, sharks and rays (0-6), barracouta to puffer
        // (389-397).
        Assert.True(fish is (>= 0 and <= 6) or (>= 389 and <= 397), $"fish top-1 is {Labels[fish]}");
    }

    [Fact]
    public void A_whole_batch_equals_one_image_at_a_time()
    {
        using var scope = NewDisposeScope();
        var teacher = fixture.ResNet18;
        // Four different images: the two photos and their mirror images.
        var images = cat([fixture.Kitten, fixture.Fish, fixture.Kitten.flip(3), fixture.Fish.flip(2)]);
        var batch = teacher.Forward(images);
        for (var i = 0; i < 4; i++)
        {
            var single = teacher.Forward(images.narrow(0, i, 1));
            AssertClose(single.Summary!, batch.Summary!.narrow(0, i, 1), 1e-4);
            AssertClose(single.Features!, batch.Features!.narrow(0, i, 1), 1e-4);
        }
        Assert.True(batch.Summary!.narrow(0, 0, 1).sub(batch.Summary.narrow(0, 2, 1)).abs().max().item<float>() > 1e-3,
            "mirrored image gave the same summary");
    }

    [Fact]
    public void ResNet18_runs_at_112_with_a_4x4_grid_and_consistent_pooling()
    {
        using var scope = NewDisposeScope();
        using var teacher = OnnxTeachers.ResNet18(112);
        var output = teacher.Forward(cat([fixture.Kitten, fixture.Fish]));
        Assert.Equal(new long[] { 2, 512, 4, 4 }, output.Features!.shape);
        Assert.Equal(4, teacher.FeatureGrid);
        Assert.True(teacher.RunsWholeBatch, teacher.BatchNote);
        Assert.Contains(teacher.GraphEdits, e => e.Contains("GlobalAveragePool", StringComparison.Ordinal));
        Assert.Contains(teacher.GraphEdits, e => e.Contains("SAME_LOWER", StringComparison.Ordinal));
        AssertClose(output.Summary!, output.Features.mean([2, 3]), 1e-4);
        Assert.NotEqual(fixture.ResNet18.Fingerprint, teacher.Fingerprint);
    }

    [Fact]
    public void Fingerprint_changes_with_input_size_and_not_with_threads()
    {
        var baseConfig = OnnxTeachers.SqueezeNetConfig();
        using var sameButThreads = new OnnxTeacher(baseConfig with { Threads = 1 });
        Assert.Equal(fixture.SqueezeNet.Fingerprint, sameButThreads.Fingerprint);
        using var smaller = OnnxTeachers.SqueezeNet(160);
        Assert.NotEqual(fixture.SqueezeNet.Fingerprint, smaller.Fingerprint);
        Assert.Equal(64, fixture.SqueezeNet.Fingerprint.Length);
    }

    [Fact]
    public void A_wrong_input_name_is_an_input_error_naming_it()
    {
        var config = OnnxTeachers.SqueezeNetConfig() with { InputName = "pixels" };
        var error = Assert.Throws<InputException>(() => new OnnxTeacher(config));
        Assert.Contains("'pixels'", error.Message, StringComparison.Ordinal);
        Assert.Contains("data_0", error.Message, StringComparison.Ordinal);
        Assert.Contains("squeezenet1.1_imagenet_fp16.onnx", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_output_is_an_input_error_naming_it()
    {
        var config = OnnxTeachers.SqueezeNetConfig() with { FeatureOutput = "fire10/concat_1" };
        var error = Assert.Throws<InputException>(() => new OnnxTeacher(config));
        Assert.Contains("FeatureOutput 'fire10/concat_1'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_size_other_than_a_fixed_input_is_an_input_error_unless_spatial_is_freed()
    {
        var config = OnnxTeachers.SqueezeNetConfig(112) with { DynamicSpatial = false };
        var error = Assert.Throws<InputException>(() => new OnnxTeacher(config));
        Assert.Contains("InputSize 112", error.Message, StringComparison.Ordinal);
        Assert.Contains("224x224", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_input_type_is_an_input_error()
    {
        var wrongType = OnnxTeachers.SqueezeNetConfig() with { InputType = "float32" };
        var error = Assert.Throws<InputException>(() => new OnnxTeacher(wrongType));
        Assert.Contains("InputType float32", error.Message, StringComparison.Ordinal);
        Assert.Contains("float16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_spatial_summary_needs_mean_pooling()
    {
        var spatial = OnnxTeachers.SqueezeNetConfig() with { SummaryOutput = "fire9/concat_1", FeatureOutput = null };
        var error = Assert.Throws<InputException>(() => new OnnxTeacher(spatial));
        Assert.Contains("SummaryOutput 'fire9/concat_1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("SummaryPool", error.Message, StringComparison.Ordinal);

        using var scope = NewDisposeScope();
        using var pooled = new OnnxTeacher(spatial with { SummaryPool = "mean" });
        Assert.Equal((512, (int?)null), (pooled.SummaryDim, pooled.FeatureDim));
        var output = pooled.Forward(fixture.Kitten);
        Assert.Null(output.Features);
        var expected = fixture.SqueezeNet.Forward(fixture.Kitten).Features!.mean([2, 3]);  // (1, 512)
        AssertClose(expected, output.Summary!, 1e-4);
    }

    [Fact]
    public void Forward_rejects_images_that_are_not_three_channel_float()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<InputException>(() => fixture.SqueezeNet.Forward(zeros(1, 1, 224, 224)));
        Assert.Throws<InputException>(() => fixture.SqueezeNet.Forward(zeros(1, 3, 224, 224, ScalarType.Float64)));
    }

    [Fact]
    public void ListValues_shows_intermediate_values_with_their_producers_and_shapes()
    {
        var values = OnnxGraph.ListValues(fixture.ResNet18.Config.ModelPath);
        var stage = Assert.Single(values, v => v.Name == "ReLU393_Output_0");
        Assert.Equal("Relu", stage.Producer);
        Assert.Equal(["1", "512", "7", "7"], stage.Shape);
        Assert.False(stage.IsGraphOutput);
        var input = values[0];
        Assert.Equal(("Input247", "input"), (input.Name, input.Producer));
        Assert.True(Assert.Single(values, v => v.Name == "Pooling395_Output_0").IsGraphOutput);
        var squeeze = OnnxGraph.ListValues(fixture.SqueezeNet.Config.ModelPath);
        // IR 3 lists weights as inputs: only the image is a real input.
        Assert.Single(squeeze, v => v.Producer == "input");
        Assert.Equal("Concat", Assert.Single(squeeze, v => v.Name == "fire9/concat_1").Producer);
        Assert.Contains("fire9/concat_1  Concat", OnnxGraph.Describe(fixture.SqueezeNet.Config.ModelPath),
            StringComparison.Ordinal);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double relative)
    {
        Assert.Equal(expected.shape, actual.shape);
        var tolerance = relative * (1 + expected.abs().max().item<float>());
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= tolerance, $"max difference {difference} > {tolerance}");
    }
}
