// E-RADIO, the efficient student of AM-RADIO ("AM-RADIO: Agglomerative Vision Foundation Model - Reduce All
// Domains Into One", Ranzinger, Heinrich, Kautz, Molchanov, arXiv:2312.06709, CVPR 2024, section 5.1).
// Reference: NVlabs/RADIO radio/eradio_model.py (FasterViT "v2": PatchEmbed, FasterViTLayer, HiResNeck).
//
//   patch_embed            two 3x3 stride-2 Conv2d_BN + ReLU, /4
//   levels.0, levels.1     YOLOv8 C2f blocks (`levels.{i}.blocks.cv1/cv2/m.{j}`), then Downsample: 3x3 stride-2
//                          Conv2d_BN, no LayerNorm (`levels.{i}.downsample.reduction.conv/bn`)
//   levels.2               multi-resolution attention: each layer = a 2x-subsampled windowed attention block then a
//                          full-resolution one with a 3x3 pre-conv (`levels.2.blocks.{j}.attention_blocks.{0,1}`)
//   levels.3               windowed attention with pre-conv (`levels.3.blocks.{j}.attention_blocks.0`)
//   high_res_neck          from stage 2 on, each stage's pre-downsample map -> (nearest upsample) -> depthwise 3x3
//                          -> BN -> 1x1 to NeckDim, summed: the /16 dense features
//                          (`high_res_neck.neck_features_proj.{k}.conv1/norm/conv2`)
//   norm, head             BatchNorm2d of the last map; average pool; Linear (none with NumClasses 0)
// A transformer stage whose map is not a multiple of (largest subsampling x window) is resized (nearest) up to the
// next multiple and back afterwards, as the reference. The window follows the input: before each forward the
// reference's set_optimal_window_size rule picks it from the input's smaller side (ERadioConfig.OptimalWindowSize)
// unless AdaptWindow is turned off.
//
// Deviations:
// - The window rule runs automatically on every forward (the reference leaves the call to the user).
// - Summary = the pooled normalized last map (what feeds the reference's head), features = the neck output
//   (stride 16), intermediates = each stage's pre-downsample map: the backbone contract (IBackbone).
// - Init: trunc_normal(std 0.02) Linear weights, zero biases, BN 1/0, PyTorch defaults for convs (as the
//   reference's _init_weights). No DropPath, no BN folding. See ERadioBlocks for block-level deviations.
using Condense.Core.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Stem: Conv2d_BN(3x3, s2) -> ReLU -> Conv2d_BN(3x3, s2) -> ReLU, (B, 3, H, W) to (B, dim, H/4, W/4).</summary>
public sealed class ERadioPatchEmbed : Module<Tensor, Tensor>
{
    private readonly Sequential conv_down;

    /// <summary>A stem from <paramref name="inChannels"/> through <paramref name="inDim"/> to <paramref name="dim"/> channels.</summary>
    public ERadioPatchEmbed(int inChannels, int inDim, int dim) : base("PatchEmbed")
    {
        conv_down = Sequential(new ERadioConvBN(inChannels, inDim, 3, 2, 1), ReLU(), new ERadioConvBN(inDim, dim, 3, 2, 1), ReLU());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => conv_down.call(x);
}

/// <summary>The strided Conv2d_BN between stages (`reduction`), width x2.</summary>
public sealed class ERadioDownsample : Module<Tensor, Tensor>
{
    private readonly ERadioConvBN reduction;

    /// <summary>A downsampler from <paramref name="dim"/> to 2 * <paramref name="dim"/> channels at half the resolution.</summary>
    public ERadioDownsample(int dim) : base("Downsample")
    {
        reduction = new ERadioConvBN(dim, 2 * dim, 3, 2, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => reduction.call(x);
}

/// <summary>One E-RADIO stage: C2f (conv stages) or multi-resolution attention layers, then a downsampler.</summary>
public sealed class ERadioLayer : Module
{
    private readonly Module<Tensor, Tensor> blocks;
    private readonly ERadioDownsample? downsample;
    private readonly bool transformer;
    private readonly int maxSubsample;

    /// <summary>Stage <paramref name="stage"/> (0 to 3) of <paramref name="config"/>; stages 2 and 3 are attention stages, stage 3 has no downsampler.</summary>
    public ERadioLayer(ERadioConfig config, int stage) : base("FasterViTLayer")
    {
        int dim = config.StageDim(stage);
        transformer = stage >= 2;
        var sr = ERadioConfig.SrRatio(stage);
        maxSubsample = sr.Max();
        blocks = transformer
            ? Sequential(Enumerable.Range(0, config.Depths[stage])
                .Select(_ => (Module<Tensor, Tensor>)new ERadioMultiResolutionAttention(config, dim, config.NumHeads[stage], sr)).ToArray())
            : new ERadioC2f(dim, config.Depths[stage]);
        if (stage < 3) downsample = new ERadioDownsample(dim);
        RegisterComponents();
    }

    /// <summary>Sets the window of every attention block (the reference's change_window_size).</summary>
    public void SetWindow(int window)
    {
        foreach (var (_, m) in named_modules())
            if (m is ERadioGRAAttentionBlock b) b.Window = window;
        Window = window;
    }

    /// <summary>Window side of this stage's attention blocks.</summary>
    public int Window { get; private set; }

    /// <summary>(B, C, H, W) to (the stage's output before downsampling, after downsampling).</summary>
    public (Tensor Stage, Tensor Next) Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long H = x.shape[2], W = x.shape[3];
        if (transformer)
        {
            long m = (long)maxSubsample * Window;
            if (H % m != 0 || W % m != 0)
                x = functional.interpolate(x, [(H + m - 1) / m * m, (W + m - 1) / m * m], mode: InterpolationMode.Nearest);
        }
        x = blocks.call(x);
        if (transformer && (x.shape[2] != H || x.shape[3] != W))
            x = functional.interpolate(x, [H, W], mode: InterpolationMode.Nearest);          // (B, C, H, W)
        var next = downsample is null ? x : downsample.call(x);
        return (x.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}

/// <summary>E-RADIO: images (B, 3, H, W), normalized as the model was trained, to logits (or pooled features).</summary>
public sealed class ERadio : Module<Tensor, Tensor>, IBackbone
{
    private readonly ERadioPatchEmbed patch_embed;
    private readonly ModuleList<ERadioLayer> levels;
    private readonly ERadioHiResNeck high_res_neck;
    private readonly BatchNorm2d norm;
    private readonly Module<Tensor, Tensor> head;

    /// <summary>An E-RADIO with freshly initialized weights and the configured window.</summary>
    public ERadio(ERadioConfig config) : base(nameof(ERadio))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first forward
        Config = config;
        patch_embed = new ERadioPatchEmbed(config.InChannels, config.InDim, config.Dim);
        levels = new ModuleList<ERadioLayer>(Enumerable.Range(0, 4).Select(i => new ERadioLayer(config, i)).ToArray());
        high_res_neck = new ERadioHiResNeck(config);
        norm = BatchNorm2d(config.NumFeatures);
        head = config.NumClasses > 0 ? Linear(config.NumFeatures, config.NumClasses) : Identity();
        RegisterComponents();
        BackboneInit.Apply(this);
        SetWindow(config.WindowSize);
    }

    /// <summary>The configuration this model was built from.</summary>
    public ERadioConfig Config { get; }

    /// <summary>Whether each forward picks the window from the input size (the reference's rule); default true.</summary>
    public bool AdaptWindow { get; set; } = true;

    /// <summary>The current window of the attention stages.</summary>
    public int Window => levels[2].Window;

    /// <summary>Sets the window of every attention block (the reference's change_window_size).</summary>
    public void SetWindow(int window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        foreach (var level in levels) level.SetWindow(window);
    }

    /// <inheritdoc />
    public int SummaryDim => Config.NumFeatures;
    /// <inheritdoc />
    public int FeatureDim => Config.NeckDim;
    /// <inheritdoc />
    public int FeatureStride => 16;
    /// <inheritdoc />
    public Module Module => this;

    /// <inheritdoc />
    public BackboneOutput ForwardBackbone(Tensor images)
    {
        if (AdaptWindow) SetWindow(ERadioConfig.OptimalWindowSize((int)Math.Min(images.shape[2], images.shape[3])));
        using var scope = NewDisposeScope();
        var x = patch_embed.call(images);                                   // (B, dim, H/4, W/4)
        var stages = new List<Tensor>();
        foreach (var level in levels)
        {
            var (stage, next) = level.Forward(x);
            stages.Add(stage);
            x = next;
        }
        var dense = high_res_neck.Forward(stages);                          // (B, NeckDim, H/16, W/16)
        var summary = norm.call(x).mean([2, 3]);                            // (B, 8*dim)
        return new BackboneOutput(summary.MoveToOuterDisposeScope(), dense.MoveToOuterDisposeScope(),
            stages.Select(s => s.MoveToOuterDisposeScope()).ToList());
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return head.call(ForwardBackbone(images).Summary).MoveToOuterDisposeScope();
    }
}

/// <summary>HiResNeck: per stage from NeckStartStage, upsample to the first neck stage's grid, project, sum.</summary>
public sealed class ERadioHiResNeck : Module
{
    private readonly ModuleList<Sequential> neck_features_proj;
    private readonly int start;
    private readonly List<int> upsample = [];

    /// <summary>The neck of <paramref name="config"/>: one projection to NeckDim per stage from NeckStartStage.</summary>
    public ERadioHiResNeck(ERadioConfig config) : base("HiResNeck")
    {
        start = config.NeckStartStage;
        var projections = new List<Sequential>();
        int ratio = 1;
        for (int i = start; i < 4; i++)
        {
            int d = config.StageDim(i);
            upsample.Add(ratio);
            projections.Add(ratio > 1 || config.NeckDim != d
                ? Sequential(("conv1", new GemmConv2d(d, d, 3, padding: 1, groups: d)), ("norm", BatchNorm2d(d)),
                    ("conv2", Conv2d(d, config.NeckDim, 1)))
                : Sequential());
            if (i > 0) ratio *= 2;
        }
        neck_features_proj = new ModuleList<Sequential>(projections.ToArray());
        RegisterComponents();
    }

    /// <summary>Stage maps (all four, pre-downsample) to the dense features on the first neck stage's grid.</summary>
    public Tensor Forward(IReadOnlyList<Tensor> stages)
    {
        using var scope = NewDisposeScope();
        Tensor? full = null;
        for (int i = start; i < 4; i++)
        {
            var x = stages[i];
            int r = upsample[i - start];
            if (r > 1) x = functional.interpolate(x, scale_factor: [r, r], mode: InterpolationMode.Nearest);
            var p = neck_features_proj[i - start].call(x);
            if (full is null) full = p;
            else
            {
                // crop or zero-pad to the first neck stage's grid (the reference pads with F.pad)
                p = p[.., .., ..(int)Math.Min(p.shape[2], full.shape[2]), ..(int)Math.Min(p.shape[3], full.shape[3])];
                if (p.shape[2] < full.shape[2] || p.shape[3] < full.shape[3])
                    p = functional.pad(p, [0, full.shape[3] - p.shape[3], 0, full.shape[2] - p.shape[2]]);
                full = full + p;
            }
        }
        return full!.MoveToOuterDisposeScope();
    }
}
