// The backbone contract: what every vision backbone in the model registry gives a caller (distillation student,
// benchmark, probes), whatever its architecture (plain ViT tokens, FasterViT stages, E-RADIO neck).
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>A backbone's outputs for a batch.</summary>
/// <param name="Summary">(B, SummaryDim): one vector per image (class token(s) or pooled features).</param>
/// <param name="Features">(B, FeatureDim, H / FeatureStride, W / FeatureStride): the dense features.</param>
/// <param name="Intermediates">Earlier feature maps (B, C_i, H_i, W_i), shallow to deep (per stage, or per block
/// for a ViT).</param>
public sealed record BackboneOutput(Tensor Summary, Tensor Features, IReadOnlyList<Tensor> Intermediates)
{
    /// <summary>The dense features as tokens (B, h*w, C), row-major.</summary>
    public Tensor Tokens() => Features.flatten(2).transpose(1, 2);
}

/// <summary>A vision backbone: images (B, 3, H, W) to summary, dense features and intermediate features.</summary>
public interface IBackbone : IDisposable
{
    /// <summary>Width of <see cref="BackboneOutput.Summary"/>.</summary>
    int SummaryDim { get; }

    /// <summary>Channels of <see cref="BackboneOutput.Features"/>.</summary>
    int FeatureDim { get; }

    /// <summary>Input pixels per feature cell along each side (16 for a /16 map).</summary>
    int FeatureStride { get; }

    /// <summary>The backbone as a TorchSharp module (parameters, state dict, train/eval).</summary>
    Module Module { get; }

    /// <summary>Runs the backbone on images as the model expects them (see each model for its input scaling).</summary>
    BackboneOutput ForwardBackbone(Tensor images);
}

/// <summary>The init FasterViT, E-RADIO and timm share: trunc_normal(std 0.02) Linear weights and zero Linear biases.</summary>
internal static class BackboneInit
{
    public static void Apply(Module model)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not TorchSharp.Modules.Linear linear) continue;
            VisionTransformer.TruncNormal_(linear.weight!, std: 0.02);
            if (linear.bias is not null) init.zeros_(linear.bias);
        }
    }
}
