using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

/// <summary>
/// The two real ImageNet teachers at 224 and the two real test photos, built once per test class: loading a
/// teacher hashes the model file and runs a probe batch, which is most of what these tests cost.
/// </summary>
public sealed class OnnxTeacherFixture : IDisposable
{
    public OnnxTeacherFixture()
    {
        ResNet18 = OnnxTeachers.ResNet18();
        SqueezeNet = OnnxTeachers.SqueezeNet();
        Kitten = LoadImage("kitten.png", 224);
        Fish = LoadImage("fish.png", 224);
    }

    public OnnxTeacher ResNet18 { get; }
    public OnnxTeacher SqueezeNet { get; }

    /// <summary>(1, 3, 224, 224) RGB in [0, 1] (fish.png is natively 224; smaller teachers resize it themselves).</summary>
    public Tensor Kitten { get; }

    /// <inheritdoc cref="Kitten"/>
    public Tensor Fish { get; }

    /// <summary>Decodes a shared test image to (1, 3, size, size) float32 RGB in [0, 1].</summary>
    public static Tensor LoadImage(string name, int size)
    {
        var path = AssetPaths.Require("data/images/" + name);
        var pixels = new byte[3 * size * size];
        ImageFolder.DecodeRgbChw(path, size, size, pixels);
        using var bytes = tensor(pixels, [1, 3, size, size]);
        return bytes.to(ScalarType.Float32).div_(255).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        ResNet18.Dispose();
        SqueezeNet.Dispose();
        Kitten.Dispose();
        Fish.Dispose();
    }
}
