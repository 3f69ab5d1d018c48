using Condense.Core;
using Condense.Core.IO;

namespace Condense.Vision.Teachers;

/// <summary>
/// Ready-made ONNX teachers built from real ImageNet classifiers available on this machine.
///
/// ResNet18 (NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, a CNTK export): the package's companion graph
/// <c>ResNetPreprocess.onnx</c> (OriginalInput -> PreprocessedInput) splits RGB 0..255 pixels into planes,
/// concatenates them as B, G, R and subtracts a 3x224x224 mean image. Its per-channel averages are B 103.0626,
/// G 115.9029, R 123.1516 (the classic Caffe/CNTK ImageNet means); the image varies around them by a spatial std of
/// 5.9, 4.9 and 3.3 (out of 255). Summary = the 512-d global average pool; features = the last stage's ReLU output
/// (512 x 7 x 7 at 224), exposed as an extra graph output.
///
/// SqueezeNet 1.1 (fp16, Caffe2 export, opset 7): BGR 0..255 without mean subtraction, as the shared models README
/// gives it. Summary = <c>pool10_1</c>, the 1000 class scores before the softmax (the global average of the ReLU'd
/// conv10 class maps): unlike a probability vector it is not squashed towards one-hot, so a cosine loss on it still
/// carries how the teacher ranks all classes (classic logit distillation), and unlike a mean of fire9 it is not a
/// linear function of the feature output, so the two targets do not repeat each other. Features = the fire9 concat
/// (512 x 13 x 13 at 224), before the (inference-time identity) dropout.
///
/// Deviations:
/// - ResNet18 subtracts the per-channel means, not the 224x224 mean image (which has no meaning at other sizes);
///   the difference is a smooth offset of a few grey levels.
/// - At an input size other than 224 both graphs get a free spatial size (see <see cref="OnnxGraph"/>): ResNet18's
///   final 7x7 AveragePool becomes a global pool and CNTK's asymmetric pads become SAME_LOWER.
/// </summary>
public static class OnnxTeachers
{
    /// <summary>Where the ResNet18 package puts its model, relative to the program's folder.</summary>
    public const string ResNet18RelativePath = "DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>The SqueezeNet model, relative to the shared folder.</summary>
    public const string SqueezeNetSharedPath = "models/onnx/squeezenet1.1_imagenet_fp16.onnx";

    /// <summary>The ResNet18 teacher config (the model file must exist next to the program).</summary>
    public static OnnxTeacherConfig ResNet18Config(int inputSize = 224)
    {
        var path = Path.Combine(AppContext.BaseDirectory, ResNet18RelativePath);
        if (!File.Exists(path))
            throw new InputException($"{path}: ResNet18 model missing (the program must reference the NuGet package "
                + "Microsoft.ML.DnnImageFeaturizer.ResNet18, which copies it there)");
        return ImageNetBgr("resnet18", path, "Input247", inputSize, [103.0626f, 115.9029f, 123.1516f], "float32",
            summaryOutput: "Pooling395_Output_0", featureOutput: "ReLU393_Output_0");
    }

    /// <summary>ImageNet ResNet18: summary (B, 512), features (B, 512, s/32, s/32).</summary>
    public static OnnxTeacher ResNet18(int inputSize = 224) => new(ResNet18Config(inputSize));

    /// <summary>The SqueezeNet 1.1 teacher config (the model comes from the shared folder).</summary>
    public static OnnxTeacherConfig SqueezeNetConfig(int inputSize = 224) =>
        ImageNetBgr("squeezenet", AssetPaths.Require(SqueezeNetSharedPath), "data_0", inputSize, [0f, 0f, 0f], "float16",
            summaryOutput: "pool10_1", featureOutput: "fire9/concat_1");

    // Both ImageNet teachers take BGR pixels in 0..255 minus a per-channel mean, any batch, any size (224 as exported).
    private static OnnxTeacherConfig ImageNetBgr(string name, string path, string input, int inputSize, float[] mean, string inputType,
        string summaryOutput, string featureOutput) => new()
    {
        Name = name,
        ModelPath = path,
        InputName = input,
        InputSize = inputSize,
        ChannelOrder = "bgr",
        Scale = 255f,
        Mean = mean,
        Std = [1f, 1f, 1f],
        InputType = inputType,
        SummaryOutput = summaryOutput,
        SummaryPool = "none",
        FeatureOutput = featureOutput,
        DynamicBatch = true,
        DynamicSpatial = inputSize != 224,
    };

    /// <summary>ImageNet SqueezeNet 1.1 (fp16): summary (B, 1000) class scores, features (B, 512, 13, 13) at 224.</summary>
    public static OnnxTeacher SqueezeNet(int inputSize = 224) => new(SqueezeNetConfig(inputSize));
}
