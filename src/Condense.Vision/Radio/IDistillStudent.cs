// The distillation student contract: images to summary tokens and patch tokens (StudentOutput), with the widths the
// teacher adaptors are built for. The AM-RADIO ViT is one natively (one summary token per teacher); any other
// registered backbone becomes one through BackboneStudent. Distillation asks for this capability, never for a name.
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>A module that a RadioDistillModel can distil into: summary tokens and patch tokens per image.</summary>
public interface IDistillStudent
{
    /// <summary>Width of one summary token (each teacher's summary head reads one token of this width).</summary>
    int SummaryTokenDim { get; }

    /// <summary>Width of the patch tokens (the feature heads' input).</summary>
    int FeatureDim { get; }

    /// <summary>The student as a module: images (B, 3, H, W) in [0, 1] to its outputs.</summary>
    Module<Tensor, StudentOutput> StudentModule { get; }
}
