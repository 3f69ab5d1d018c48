// Input normalization inside the model (AM-RADIO, arXiv:2312.06709). Reference: NVlabs/RADIO,
// radio/input_conditioner.py (InputConditioner, get_default_conditioner): images in [0, 1] are standardized with
// the OpenAI CLIP mean and std, stored as (3, 1, 1) buffers `norm_mean` and `norm_std`.
//
// Deviations:
// - Only the default conditioner (input_scale 1, OpenAI CLIP statistics, no dtype cast); no inverse mapping.
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>(x - mean) / std with OpenAI CLIP's per-channel statistics, for RGB images in [0, 1].</summary>
internal sealed class InputConditioner : Module<Tensor, Tensor>
{
    /// <summary>timm's OPENAI_CLIP_MEAN.</summary>
    public static readonly float[] OpenAIClipMean = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>timm's OPENAI_CLIP_STD.</summary>
    public static readonly float[] OpenAIClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    private readonly Tensor norm_mean;
    private readonly Tensor norm_std;

    public InputConditioner() : base(nameof(InputConditioner))
    {
        norm_mean = tensor(OpenAIClipMean).reshape(3, 1, 1);   // (3, 1, 1)
        norm_std = tensor(OpenAIClipStd).reshape(3, 1, 1);     // (3, 1, 1)
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ((x - norm_mean) / norm_std).MoveToOuterDisposeScope();   // (B, 3, H, W)
    }
}
