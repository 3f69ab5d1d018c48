// Real teacher features for the normalization tests: the MLPerf Tiny ResNet8 teacher run on the 499 shared
// CIFAR-10 training images, its last-stage feature map (B, 64, 8, 8) flattened to tokens (B·64, 64).
using Condense.Testing;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

internal static class RealTeacherFeatures
{
    /// <summary>Images whose tokens are used for fitting; the rest are held out.</summary>
    public const int FitImages = 250;

    private static readonly Lazy<Tensor> Cached = new(Compute);

    /// <summary>(499·64, 64) float32 tokens, image-major; shared, do not dispose (clone before changing).</summary>
    public static Tensor Tokens => Cached.Value;

    /// <summary>Tokens of the first <see cref="FitImages"/> images, (250·64, 64), in the caller's scope.</summary>
    public static Tensor FitTokens() => Tokens.narrow(0, 0, FitImages * 64L).clone();

    /// <summary>Tokens of the remaining images, (249·64, 64), in the caller's scope.</summary>
    public static Tensor HeldOutTokens() =>
        Tokens.narrow(0, FitImages * 64L, Tokens.shape[0] - FitImages * 64L).clone();

    private static Tensor Compute()
    {
        using var scope = NewDisposeScope();
        using var teacher = TeacherRegistry.Create(TeacherRegistry.ResNet8Cifar10);
        var (images, _) = SharedImages.Cifar499();                            // (499, 3, 32, 32)
        var features = teacher.Forward(images).Features!;                        // (499, 64, 8, 8)
        var tokens = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1]); // (499·64, 64)
        return tokens.contiguous().DetachFromDisposeScope();
    }
}
