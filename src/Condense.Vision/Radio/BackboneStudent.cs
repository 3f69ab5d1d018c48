// Any registered backbone (Condense.Vision.Models.ModelRegistry: FasterViT, E-RADIO, timm ViT) as the AM-RADIO
// distillation student. AM-RADIO distils into a ViT and into E-RADIO alike (arXiv:2312.06709, sections 4-5): the
// backbone's summary feeds every teacher's summary head and its dense features every feature head.
//
// State-dict names, relative to this module: input_conditioner.norm_mean / norm_std (as RadioStudent) and
// backbone.* (the backbone's own reference names, e.g. backbone.levels.2.blocks.0.hat_attn.qkv.weight), so inside
// RadioDistillModel a converted reference checkpoint loads under `model.backbone.`.
//
// Deviations:
// - One summary vector (the backbone's pooled features) shared by every teacher's summary head; the ViT student
//   has one summary token per teacher instead. E-RADIO's summary tokens in the released models are not modelled.
using Condense.Vision.Models;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>RGB images (B, 3, H, W) in [0, 1] to one summary "token" and the backbone's dense features as tokens.</summary>
public sealed class BackboneStudent : Module<Tensor, StudentOutput>, IDistillStudent
{
    private readonly InputConditioner input_conditioner;
    private readonly Module backbone;
    private readonly IBackbone impl;

    /// <summary>A student around <paramref name="backbone"/>, registered as its <c>backbone</c> submodule.</summary>
    public BackboneStudent(IBackbone backbone) : base(nameof(BackboneStudent))
    {
        ArgumentNullException.ThrowIfNull(backbone);
        impl = backbone;
        this.backbone = backbone.Module;
        input_conditioner = new InputConditioner();
        RegisterComponents();
    }

    /// <summary>The wrapped backbone.</summary>
    public IBackbone Backbone => impl;

    /// <inheritdoc />
    public int SummaryTokenDim => impl.SummaryDim;
    /// <inheritdoc />
    public int FeatureDim => impl.FeatureDim;
    /// <inheritdoc />
    public Module<Tensor, StudentOutput> StudentModule => this;

    /// <inheritdoc />
    public override StudentOutput forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new Core.InputException($"student expects images shaped (B, 3, H, W), got ({string.Join(", ", images.shape)}).");
        using var scope = NewDisposeScope();
        var output = impl.ForwardBackbone(input_conditioner.call(images));
        var summary = output.Summary.unsqueeze(1);                               // (B, 1, Ds)
        var patches = output.Tokens();                                           // (B, h*w, Df)
        return new StudentOutput(summary.MoveToOuterDisposeScope(), patches.MoveToOuterDisposeScope(),
            (int)output.Features.shape[2], (int)output.Features.shape[3]);
    }
}
