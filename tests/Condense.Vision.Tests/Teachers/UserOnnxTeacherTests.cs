using Condense.Core;
using Condense.Core.IO;
using Condense.Testing;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

/// <summary>
/// A user-supplied ONNX image encoder described only by options (registry kind "onnx"): the CIFAR-10 CNN from
/// ../shared, with its documented preprocessing (x/255 − 0.5)/0.5, classifies the real CIFAR-10 images.
/// </summary>
public sealed class UserOnnxTeacherTests
{
    private static TeacherSpec Spec(params (string Key, string Value)[] extra)
    {
        var path = AssetPaths.Require("models/onnx/cifar10_cnn.onnx");
        var output = OnnxGraph.ListValues(path).Single(v => v.IsGraphOutput).Name;
        var options = new Dictionary<string, string>
        {
            ["model_path"] = path, ["input_name"] = "modelInput", ["mean"] = "0.5,0.5,0.5", ["std"] = "0.5,0.5,0.5",
            ["summary_output"] = output,
        };
        foreach (var (k, v) in extra) options[k] = v;
        return new TeacherSpec("cifar_cnn", "onnx", 32, options);
    }

    [Fact]
    public void ConfiguredOnnxTeacherClassifiesRealCifarImages()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = TeacherRegistry.Create(Spec());
        Assert.Equal("cifar_cnn", teacher.Name);
        Assert.Equal(10, teacher.SummaryDim);
        Assert.Null(teacher.FeatureDim);
        var (images, labels) = SharedImages.Cifar499();
        var logits = teacher.Forward(images).Summary!;                                    // (499, 10)
        double accuracy = logits.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
        // the PyTorch tutorial CNN reaches ~60% on CIFAR-10; far above chance (10%) proves the preprocessing
        Assert.True(accuracy > 0.45, $"accuracy {accuracy:P1}");
    }

    [Theory]
    [InlineData("input_name", "data", "data")]
    [InlineData("mean", "0.5,0.5", "mean")]
    [InlineData("frobnicate", "1", "frobnicate")]
    public void BadOptionsAreOneLineInputErrors(string key, string value, string expected)
    {
        var ex = Assert.ThrowsAny<InputException>(() => TeacherRegistry.Create(Spec((key, value))).Dispose());
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
