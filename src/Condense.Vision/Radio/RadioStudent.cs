// The AM-RADIO student: a plain ViT with Cropped Position Embedding, one summary token per teacher and registers
// (arXiv:2312.06709, sections 3 and 4). Reference: NVlabs/RADIO, radio/radio_model.py (RADIOModel.forward:
// input_conditioner -> model.forward_features -> split summary / patch tokens) and radio/enable_cpe_support.py
// (_forward_cpe: patch_generator -> blocks -> norm, with norm = Identity by default).
//
// State-dict names, relative to this module:
//   input_conditioner.norm_mean, input_conditioner.norm_std            (3, 1, 1) buffers
//   patch_generator.embedder.weight                                    (D, 3*p*p)
//   patch_generator.pos_embed                                          (1, (MaxResolution/p)^2, D)
//   patch_generator.cls_token.token                                    (NumCls + R, D)
//   blocks.{i}.norm1 / attn.qkv / attn.proj / norm2 / mlp.fc1 / mlp.fc2 .weight/.bias (timm Block)
// In the reference the ViT lives under `model.` and the conditioner beside it (`input_conditioner.*`); here the
// conditioner is part of the student, and RadioDistillModel stores the student as `model`, so its keys read
// `model.patch_generator.*`, `model.blocks.*` (as the reference) and `model.input_conditioner.*` (one level deeper).
//
// Deviations:
// - No final LayerNorm at all (the reference keeps timm's `norm` as an Identity without parameters).
// - Block weights use timm's default init (trunc_normal std 0.02, zero biases); the reference skips timm's init
//   and starts from pretrained weights. No σReparam, ViTDet windowing, dropout or stochastic depth.
// - The summary is every summary token, (B, NumCls, D); RADIOModel's summary_idxs selection is left to callers.
using Condense.Core.Runtime;
using Condense.Vision.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>What the student produces for a batch.</summary>
/// <param name="Summary">(B, NumClsTokens, D): the summary tokens, in teacher order.</param>
/// <param name="Patches">(B, GridH * GridW, D): the patch tokens, row-major, registers removed.</param>
/// <param name="GridH">Token rows: H / PatchSize.</param>
/// <param name="GridW">Token columns: W / PatchSize.</param>
public sealed record StudentOutput(Tensor Summary, Tensor Patches, int GridH, int GridW)
{
    /// <summary>The patch tokens as a feature map (B, D, GridH, GridW).</summary>
    public Tensor Features()
    {
        long B = Patches.shape[0], D = Patches.shape[2];
        return Patches.transpose(1, 2).reshape(B, D, GridH, GridW);   // (B, D, h, w)
    }
}

/// <summary>
/// RGB images (B, 3, H, W) in [0, 1], H and W multiples of the patch size, to summary tokens and patch tokens.
/// </summary>
public sealed class RadioStudent : Module<Tensor, StudentOutput>, IBackbone, IDistillStudent
{
    private readonly InputConditioner input_conditioner;
    private readonly ViTPatchGenerator patch_generator;
    private readonly ModuleList<Block> blocks;

    /// <summary>A student with freshly initialized weights.</summary>
    public RadioStudent(RadioStudentConfig config) : base(nameof(RadioStudent))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first forward
        Config = config;
        input_conditioner = new InputConditioner();
        patch_generator = new ViTPatchGenerator(config);
        var vit = config.ToVitConfig();
        blocks = new ModuleList<Block>(Enumerable.Range(0, config.Depth).Select(_ => new Block(vit)).ToArray());
        RegisterComponents();
        InitBlocks();
    }

    /// <summary>The configuration this student was built from.</summary>
    public RadioStudentConfig Config { get; }

    /// <summary>Patch embedding, CPE table, summary tokens and registers.</summary>
    internal ViTPatchGenerator PatchGenerator => patch_generator;

    /// <summary>Runs the whole token sequence: (B, 3, H, W) to (B, NumPrefixTokens + h*w, D).</summary>
    public Tensor ForwardTokens(Tensor images)
    {
        patch_generator.ValidateInput(images);
        using var scope = NewDisposeScope();
        var x = patch_generator.call(input_conditioner.call(images));   // (B, T + h*w, D)
        foreach (var block in blocks)
            x = block.call(x);                                           // (B, T + h*w, D)
        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override StudentOutput forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var tokens = ForwardTokens(images);                                  // (B, T + h*w, D)
        int p = Config.PatchSize, numCls = Config.NumClsTokens, numSkip = Config.NumPrefixTokens;
        var summary = tokens.narrow(1, 0, numCls);                           // (B, NumCls, D)
        var patches = tokens.narrow(1, numSkip, tokens.shape[1] - numSkip);  // (B, h*w, D)
        return new StudentOutput(summary.MoveToOuterDisposeScope(), patches.MoveToOuterDisposeScope(),
            (int)(images.shape[2] / p), (int)(images.shape[3] / p));
    }

    /// <inheritdoc />
    public int SummaryDim => Config.NumClsTokens * Config.EmbedDim;
    /// <inheritdoc />
    public int FeatureDim => Config.EmbedDim;
    /// <inheritdoc />
    public int FeatureStride => Config.PatchSize;
    /// <inheritdoc />
    public Module Module => this;
    /// <inheritdoc />
    public int SummaryTokenDim => Config.EmbedDim;
    /// <inheritdoc />
    public Module<Tensor, StudentOutput> StudentModule => this;

    /// <summary>The backbone contract: every summary token concatenated, patch tokens as a map, no intermediates.</summary>
    public BackboneOutput ForwardBackbone(Tensor images)
    {
        using var scope = NewDisposeScope();
        var output = forward(images);
        var summary = output.Summary.reshape(output.Summary.shape[0], -1);   // (B, NumCls * D)
        return new BackboneOutput(summary.MoveToOuterDisposeScope(), output.Features().MoveToOuterDisposeScope(), []);
    }

    private void InitBlocks()
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in blocks.named_modules())
        {
            if (module is not Linear linear) continue;
            VisionTransformer.TruncNormal_(linear.weight!, std: 0.02);
            if (linear.bias is not null) init.zeros_(linear.bias);
        }
    }
}
