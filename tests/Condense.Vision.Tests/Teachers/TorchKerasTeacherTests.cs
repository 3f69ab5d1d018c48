using System.Diagnostics;
using Condense.Core.IO;
using Condense.Testing;
using Condense.Vision.Teachers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

public sealed class TorchKerasTeacherTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(32, 3, 1, 1, 1)]
    [InlineData(32, 3, 2, 0, 1)]   // odd total: TensorFlow puts the extra zero at the bottom/right
    [InlineData(96, 3, 2, 0, 1)]
    [InlineData(33, 3, 2, 1, 1)]
    [InlineData(32, 1, 2, 0, 0)]   // 1x1 stride-2 shortcut: no padding at all
    [InlineData(3, 3, 1, 1, 1)]
    [InlineData(8, 5, 3, 1, 2)]    // out 3, total (3-1)*3+5-8 = 3
    [InlineData(2, 1, 4, 0, 0)]
    public void Same_padding_follows_TensorFlow(int size, int kernel, int stride, int before, int after)
    {
        Assert.Equal((before, after), KerasPadding.Same(size, kernel, stride));
        // The padded input always yields ceil(size / stride) outputs, as Keras promises for 'same'.
        var padded = size + before + after;
        Assert.Equal((size + stride - 1) / stride, (padded - kernel) / stride + 1);
    }

    [Fact]
    public void ResNet8_classifies_the_real_CIFAR10_images()
    {
        using var scope = NewDisposeScope();
        var (images, labels) = SharedImages.Cifar499();
        using var teacher = TorchTeacher.ResNet8Cifar10();
        using var naive = new TorchTeacher("resnet8_symmetric_padding", KerasResNet8.Load(
            AssetPaths.Require(KerasResNet8.DefaultWeights), KerasPaddingRule.Symmetric));

        teacher.Logits(images[..8]);        // warm-up
        var clock = Stopwatch.StartNew();
        var accuracy = Accuracy(teacher.Logits(images), labels);
        var perImage = clock.Elapsed.TotalMilliseconds / images.shape[0];
        var naiveAccuracy = Accuracy(naive.Logits(images), labels);
        output.WriteLine($"ResNet8 top-1 on {images.shape[0]} CIFAR-10 images: {accuracy:P1} " +
            $"(symmetric padding: {naiveAccuracy:P1}); {perImage:F3} ms/image");

        Assert.True(accuracy >= 0.85, $"accuracy {accuracy:P1}");
        Assert.True(naiveAccuracy < accuracy - 0.02, $"symmetric {naiveAccuracy:P1} vs {accuracy:P1}");
    }

    [Fact]
    public void ResNet8_summary_is_the_pooled_last_stage_at_any_input_size()
    {
        using var scope = NewDisposeScope();
        var (images, _) = SharedImages.Cifar499();
        var batch = images[..4];
        using var teacher = TorchTeacher.ResNet8Cifar10();
        Assert.Equal((32, 64, 64, 8),
            (teacher.InputSize, teacher.SummaryDim, teacher.FeatureDim, teacher.FeatureGrid));

        var (summary, features) = teacher.Forward(batch);
        Assert.Equal(new long[] { 4, 64 }, summary!.shape);
        Assert.Equal(new long[] { 4, 64, 8, 8 }, features!.shape);
        Assert.False(summary.requires_grad || features.requires_grad);
        Assert.True(features.min().item<float>() >= 0f, "features come after the last ReLU");
        Assert.True(summary.allclose(features.mean([2, 3])));

        using var big = TorchTeacher.ResNet8Cifar10(inputSize: 48);
        Assert.Equal(12, big.FeatureGrid);
        var (bigSummary, bigFeatures) = big.Forward(batch);
        Assert.Equal(new long[] { 4, 64 }, bigSummary!.shape);
        Assert.Equal(new long[] { 4, 64, 12, 12 }, bigFeatures!.shape);
        Assert.NotEqual(teacher.Fingerprint, big.Fingerprint);
    }

    [Fact]
    public void Teachers_run_without_gradients_even_when_the_caller_records_them()
    {
        using var scope = NewDisposeScope();
        using var teacher = TorchTeacher.ResNet8Cifar10();
        var images = rand(2, 3, 32, 32, requires_grad: true);
        var (summary, features) = teacher.Forward(images);
        Assert.False(summary!.requires_grad);
        Assert.False(features!.requires_grad);
        Assert.False(teacher.Logits(images).requires_grad);
    }

    [Fact]
    public void MobileNetV1_VWW_gives_a_two_class_softmax_on_photos()
    {
        using var scope = NewDisposeScope();
        using var teacher = TorchTeacher.MobileNetV1Vww();
        Assert.Equal((96, 256, 256, 3),
            (teacher.InputSize, teacher.SummaryDim, teacher.FeatureDim, teacher.FeatureGrid));
        Assert.Equal(["non_person", "person"], teacher.ClassNames);

        // Decoded larger than 96 so the teacher's own (antialiased) resize is exercised.
        var photos = cat([SharedImages.Photo("kitten.png", 160), SharedImages.Photo("fish.png", 160)]);
        var logits = teacher.Logits(photos);
        var clock = Stopwatch.StartNew();   // the second call, after the first has warmed up oneDNN
        teacher.Logits(photos);
        var perImage = clock.Elapsed.TotalMilliseconds / 2;
        var probabilities = logits.softmax(1);
        Assert.Equal(new long[] { 2, 2 }, probabilities.shape);
        Assert.True(probabilities.isfinite().all().item<bool>());
        Assert.True(probabilities.sum(1).allclose(ones(2), rtol: 0, atol: 1e-5));
        var p = probabilities.data<float>().ToArray();
        output.WriteLine($"MobileNetV1-VWW P(person): kitten {p[1]:F3}, fish {p[3]:F3}; {perImage:F2} ms/image");
        Assert.True(p[1] < 0.5 && p[3] < 0.5, "neither photo shows a person");

        var (summary, features) = teacher.Forward(photos);
        Assert.Equal(new long[] { 2, 256 }, summary!.shape);
        Assert.Equal(new long[] { 2, 256, 3, 3 }, features!.shape);
        Assert.False(summary.allclose(summary[..1]), "different photos give different summaries");

        using var big = TorchTeacher.MobileNetV1Vww(inputSize: 128);
        var (_, bigFeatures) = big.Forward(photos);
        Assert.Equal(new long[] { 2, 256, 4, 4 }, bigFeatures!.shape);
    }

    [Fact]
    public void Fingerprint_depends_on_weights_input_size_and_model()
    {
        using var a = TorchTeacher.ResNet8Cifar10();
        using var b = TorchTeacher.ResNet8Cifar10(name: "another_name");
        using var c = TorchTeacher.ResNet8Cifar10(inputSize: 64);
        using var d = TorchTeacher.MobileNetV1Vww(inputSize: 32);
        Assert.Equal(64, a.Fingerprint.Length);
        Assert.Equal(a.Fingerprint, b.Fingerprint);     // the name labels a teacher, it does not change outputs
        Assert.NotEqual(a.Fingerprint, c.Fingerprint);
        Assert.NotEqual(a.Fingerprint, d.Fingerprint);  // same input size, other weights and class
    }

    [Fact]
    public void Input_that_is_not_RGB_float_images_is_rejected()
    {
        using var scope = NewDisposeScope();
        using var teacher = TorchTeacher.ResNet8Cifar10();
        Assert.Throws<ArgumentException>(() => teacher.Forward(rand(2, 1, 32, 32)));
        Assert.Throws<ArgumentException>(() => teacher.Forward(rand(3, 32, 32)));
        Assert.Throws<ArgumentException>(() => teacher.Forward(zeros(new long[] { 1, 3, 32, 32 }, ScalarType.Float64)));
    }

    private static double Accuracy(Tensor logits, Tensor labels) =>
        logits.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
}
