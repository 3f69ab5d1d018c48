// FasterViT ("FasterViT: Fast Vision Transformers with Hierarchical Attention", Hatamizadeh, Heinrich, Yin, Tao,
// Alvarez, Kautz, Molchanov, arXiv:2306.06189, ICLR 2024). Reference: NVlabs/FasterViT
// fastervit/models/faster_vit.py (FasterViT, FasterViTLayer) and faster_vit_any_res.py (padding per stage).
//
//   patch_embed          conv stem, /4
//   levels.0, levels.1   ConvBlocks (then Downsample: LayerNorm2d + 3x3 stride-2 conv, width x2)
//   levels.2, levels.3   HAT blocks over k x k windows; levels.2 carries tokens (hat [F, F, T, F]) initialized by
//                        its global_tokenizer; levels.3 is plain window attention (at 224 px one 7 x 7 window)
//   norm                 BatchNorm2d of the last map, then average pool and `head` (Linear, or none for 0 classes)
// State-dict names follow the reference: patch_embed.conv_down.{0,1,3,4}, levels.{i}.blocks.{j}.conv1/norm1/...,
// levels.{i}.blocks.{j}.attn.qkv/proj/pos_emb_funct.cpb_mlp.*, .hat_attn.*, .hat_pos_embed.*,
// levels.2.global_tokenizer.pos_embed, levels.{i}.downsample.norm / .reduction.0, norm, head.
//
// Any resolution (as faster_vit_any_res.py): a transformer stage pads its input right/bottom with zeros to a
// multiple of its window, initializes carrier tokens from the padded map (pool kernel/stride from the padded
// size), runs the windows and crops back. Inputs need sides that are multiples of 32 or not; the stem and the
// downsamplers round up like the reference's strided convs.
//
// Deviations:
// - No dropout or stochastic depth (drop_path_rate); the graph is the reference's eval graph plus BatchNorm in
//   train mode. Init as the reference: trunc_normal(std 0.02) Linear weights, zero biases, LayerNorm/BN 1 and 0,
//   PyTorch defaults for convs and Parameters of layer scale at LayerScale.
// - Whether a stage has carrier tokens is fixed at construction from Resolution (as the reference); the carrier
//   grid then follows the actual input (also rectangular: see FasterViTHat).
// - Summary, features and intermediates for the backbone contract (IBackbone) are additions: summary = the pooled
//   normalized last map (what feeds the head), features = that map (stride 32), intermediates = each stage's
//   output before its downsampler.
using Condense.Core.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>One FasterViT stage: conv blocks or HAT blocks, then an optional downsampler.</summary>
public sealed class FasterViTLayer : Module
{
    private readonly ModuleList<Module> blocks;
    private readonly FasterViTDownsample? downsample;
    private readonly FasterViTTokenInitializer? global_tokenizer;
    private readonly bool conv;
    private readonly int window;

    /// <summary>Stage <paramref name="stage"/> (0 to 3) of <paramref name="config"/>; stages 0 and 1 are conv stages, stage 3 has no downsampler.</summary>
    public FasterViTLayer(FasterViTConfig config, int stage) : base("FasterViTLayer")
    {
        int dim = config.StageDim(stage), depth = config.Depths[stage];
        conv = stage < 2;
        window = config.WindowSize[stage];
        if (conv)
            blocks = new ModuleList<Module>(Enumerable.Range(0, depth)
                .Select(_ => (Module)new FasterViTConvBlock(dim)).ToArray());
        else
        {
            bool carriers = config.StageHasCarriers(stage);
            int sr = carriers ? config.PaddedStageResolution(stage) / window : 1;
            blocks = new ModuleList<Module>(Enumerable.Range(0, depth).Select(j => (Module)new FasterViTHat(dim,
                config.NumHeads[stage], config.MlpRatio, config.QkvBias, sr, window, last: j == depth - 1,
                config.LayerScale, config.CtSize, config.DoPropagation)).ToArray());
            if (carriers && depth > 0) global_tokenizer = new FasterViTTokenInitializer(dim, window, config.CtSize);
        }
        if (stage < 3) downsample = new FasterViTDownsample(dim);
        RegisterComponents();
    }

    /// <summary>(B, C, H, W) to (stage output before downsampling, after downsampling).</summary>
    public (Tensor Stage, Tensor Next) Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (conv)
        {
            foreach (var b in blocks) x = ((FasterViTConvBlock)b).call(x);                     // (B, C, H, W)
        }
        else
        {
            long B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
            long padB = (window - H % window) % window, padR = (window - W % window) % window;
            if (padB > 0 || padR > 0) x = functional.pad(x, [0, padR, 0, padB]);               // (B, C, Hp, Wp)
            long Hp = H + padB, Wp = W + padR;
            int nH = (int)(Hp / window), nW = (int)(Wp / window);
            var ct = global_tokenizer?.call(x);                                                  // (B, nW*c*c, C)
            var t = x.view(B, C, nH, window, nW, window).permute(0, 2, 4, 3, 5, 1)
                .reshape(-1, window * window, C);                                                // (B*nW, k*k, C)
            foreach (var b in blocks) (t, ct) = ((FasterViTHat)b).Forward(t, ct, nH, nW);
            x = t.view(B, nH, nW, window, window, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, Hp, Wp);
            if (padB > 0 || padR > 0) x = x[.., .., ..(int)H, ..(int)W].contiguous();         // (B, C, H, W)
        }
        var next = downsample is null ? x : downsample.call(x);
        return (x.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}

/// <summary>FasterViT classifier and backbone: images (B, 3, H, W), ImageNet-normalized, to logits.</summary>
public sealed class FasterViT : Module<Tensor, Tensor>, IBackbone
{
    private readonly FasterViTPatchEmbed patch_embed;
    private readonly ModuleList<FasterViTLayer> levels;
    private readonly BatchNorm2d norm;
    private readonly Module<Tensor, Tensor> head;

    /// <summary>A FasterViT with freshly initialized weights.</summary>
    public FasterViT(FasterViTConfig config) : base(nameof(FasterViT))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first forward
        Config = config;
        patch_embed = new FasterViTPatchEmbed(config.InChannels, config.InDim, config.Dim);
        levels = new ModuleList<FasterViTLayer>(Enumerable.Range(0, 4).Select(i => new FasterViTLayer(config, i)).ToArray());
        norm = BatchNorm2d(config.NumFeatures);
        head = config.NumClasses > 0 ? Linear(config.NumFeatures, config.NumClasses) : Identity();
        RegisterComponents();
        BackboneInit.Apply(this);
    }

    /// <summary>The configuration this model was built from.</summary>
    public FasterViTConfig Config { get; }

    /// <inheritdoc />
    public int SummaryDim => Config.NumFeatures;
    /// <inheritdoc />
    public int FeatureDim => Config.NumFeatures;
    /// <inheritdoc />
    public int FeatureStride => 32;
    /// <inheritdoc />
    public Module Module => this;

    /// <inheritdoc />
    public BackboneOutput ForwardBackbone(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = patch_embed.call(images);                                   // (B, dim, H/4, W/4)
        var stages = new List<Tensor>();
        foreach (var level in levels)
        {
            var (stage, next) = level.Forward(x);
            stages.Add(stage);                                              // (B, dim*2^i, H/2^(i+2), W/2^(i+2))
            x = next;
        }
        var features = norm.call(x);                                        // (B, 8*dim, H/32, W/32)
        var summary = features.mean([2, 3]);                                // (B, 8*dim)
        return new BackboneOutput(summary.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope(),
            stages.Select(s => s.MoveToOuterDisposeScope()).ToList());
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var output = ForwardBackbone(images);
        return head.call(output.Summary).MoveToOuterDisposeScope();         // (B, NumClasses)
    }
}
