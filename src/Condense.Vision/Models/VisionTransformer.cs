// Plain Vision Transformer (ViT), "An Image is Worth 16x16 Words", Dosovitskiy et al., arXiv:2010.11929.
// Reference: huggingface/pytorch-image-models, timm/models/vision_transformer.py (VisionTransformer, Block,
// Attention) with timm/layers/patch_embed.py and timm/layers/mlp.py. Module and parameter names follow timm, so a
// state dict reads `patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, `head.bias`, ... exactly as in timm.
//
// Deviations from timm's VisionTransformer:
// - Only the plain architecture: class token, learned absolute position embedding that covers the class token,
//   pre-norm blocks, LayerNorm(eps=1e-6), exact GELU, class-token pooling. No register tokens, layer scale,
//   QK-norm, dynamic image size, position-embedding interpolation, average pooling or fc_norm.
// - No dropout and no stochastic depth (timm's defaults are 0 for all of them).
// - Weight init follows timm's default mode ('' -> init_weights_vit_timm): trunc_normal(std=0.02) for Linear
//   weights, zero biases, trunc_normal(std=0.02) for pos_embed, normal(std=1e-6) for cls_token; the patch
//   projection keeps PyTorch's default Conv2d init. timm's truncation bounds are absolute (+-2), as here.
//   TorchSharp 0.107's `nn.init.trunc_normal_` returns values near zero (std 1e-9 instead of 0.02), so
//   VisionTransformer.TruncNormal_ re-implements PyTorch's inverse-CDF sampler.
using Condense.Core.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Hyper-parameters of a plain ViT, with timm's defaults for vit_tiny_patch16_224.</summary>
public sealed record VitConfig(
    int ImageSize = 224,
    int PatchSize = 16,
    int InChannels = 3,
    int EmbedDim = 192,
    int Depth = 12,
    int NumHeads = 3,
    double MlpRatio = 4,
    int NumClasses = 1000)
{
    /// <summary>vit_tiny_patch16_224: 5,717,416 parameters.</summary>
    public static VitConfig Tiny { get; } = new();

    /// <summary>vit_small_patch16_224: 22,050,664 parameters.</summary>
    public static VitConfig Small { get; } = new(EmbedDim: 384, NumHeads: 6);

    /// <summary>vit_base_patch16_224: 86,567,656 parameters.</summary>
    public static VitConfig Base { get; } = new(EmbedDim: 768, NumHeads: 12);

    /// <summary>Patches along one side of the image.</summary>
    public int GridSize => ImageSize / PatchSize;

    /// <summary>Patch tokens per image (without the class token).</summary>
    public int NumPatches => GridSize * GridSize;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>Hidden width of the MLP.</summary>
    public int MlpHiddenDim => (int)(EmbedDim * MlpRatio);

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (ImageSize <= 0 || PatchSize <= 0 || InChannels <= 0 || EmbedDim <= 0 || Depth <= 0 || NumHeads <= 0
            || MlpRatio <= 0 || NumClasses < 0)
            throw new ArgumentException($"VitConfig has a non-positive size: {this}");
        if (ImageSize % PatchSize != 0)
            throw new ArgumentException($"ImageSize {ImageSize} is not a multiple of PatchSize {PatchSize}.");
        if (EmbedDim % NumHeads != 0)
            throw new ArgumentException($"EmbedDim {EmbedDim} is not a multiple of NumHeads {NumHeads}.");
    }
}

/// <summary>Image to patch tokens: one strided convolution (timm PatchEmbed with flatten=True).</summary>
public sealed class PatchEmbed : Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    /// <summary>A patch embedding of <paramref name="config"/>: InChannels to EmbedDim, one token per PatchSize x PatchSize patch.</summary>
    public PatchEmbed(VitConfig config) : base(nameof(PatchEmbed))
    {
        proj = Conv2d(config.InChannels, config.EmbedDim, config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = proj.call(x);                      // (B, C, H/P, W/P)
        y = y.flatten(2).transpose(1, 2);          // (B, N, C)
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention with a fused qkv projection (timm Attention).</summary>
public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int numHeads;
    private readonly int headDim;

    /// <summary>Attention over <paramref name="dim"/>-wide tokens with <paramref name="numHeads"/> heads of width dim / numHeads.</summary>
    public Attention(int dim, int numHeads) : base(nameof(Attention))
    {
        this.numHeads = numHeads;
        headDim = dim / numHeads;
        qkv = Linear(dim, dim * 3, hasBias: true);
        proj = Linear(dim, dim, hasBias: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long B = x.shape[0], N = x.shape[1], C = x.shape[2];
        var qkvOut = qkv.call(x)                          // (B, N, 3C)
            .reshape(B, N, 3, numHeads, headDim)          // (B, N, 3, nh, hd)
            .permute(2, 0, 3, 1, 4);                      // (3, B, nh, N, hd)
        var qkvParts = qkvOut.unbind(0);
        var y = functional.scaled_dot_product_attention(qkvParts[0], qkvParts[1], qkvParts[2]); // (B, nh, N, hd)
        y = y.transpose(1, 2).reshape(B, N, C);           // (B, N, C)
        return proj.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>Two-layer MLP with exact GELU (timm Mlp).</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly GELU act;
    private readonly Linear fc2;

    /// <summary>An MLP <paramref name="dim"/> to <paramref name="hiddenDim"/> to <paramref name="dim"/>.</summary>
    public Mlp(int dim, int hiddenDim) : base(nameof(Mlp))
    {
        fc1 = Linear(dim, hiddenDim, hasBias: true);
        act = GELU();
        fc2 = Linear(hiddenDim, dim, hasBias: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.call(act.call(fc1.call(x))).MoveToOuterDisposeScope(); // (B, N, C)
    }
}

/// <summary>Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)) (timm Block).</summary>
public sealed class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;

    /// <summary>A block of <paramref name="config"/>'s width, heads and MLP ratio.</summary>
    public Block(VitConfig config) : base(nameof(Block))
    {
        norm1 = LayerNorm(config.EmbedDim, eps: 1e-6);
        attn = new Attention(config.EmbedDim, config.NumHeads);
        norm2 = LayerNorm(config.EmbedDim, eps: 1e-6);
        mlp = new Mlp(config.EmbedDim, config.MlpHiddenDim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + attn.call(norm1.call(x));   // (B, N, C)
        x = x + mlp.call(norm2.call(x));    // (B, N, C)
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Plain ViT classifier: images (B, C, H, W) to logits (B, NumClasses). With NumClasses = 0 the head is the
/// identity and <see cref="Module{T, TResult}.forward"/> returns the pooled class token (B, EmbedDim).
/// </summary>
public sealed class VisionTransformer : Module<Tensor, Tensor>, IBackbone
{
    private readonly PatchEmbed patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    private readonly Module<Tensor, Tensor> head;

    /// <summary>A ViT with timm's default initialization.</summary>
    public VisionTransformer(VitConfig config) : base(nameof(VisionTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first forward
        Config = config;
        patch_embed = new PatchEmbed(config);
        cls_token = Parameter(zeros(1, 1, config.EmbedDim));
        pos_embed = Parameter(zeros(1, config.NumPatches + 1, config.EmbedDim));
        blocks = new ModuleList<Block>(Enumerable.Range(0, config.Depth).Select(_ => new Block(config)).ToArray());
        norm = LayerNorm(config.EmbedDim, eps: 1e-6);
        head = config.NumClasses > 0 ? Linear(config.EmbedDim, config.NumClasses) : Identity();
        RegisterComponents();
        InitWeights();
    }

    /// <summary>The configuration this model was built from.</summary>
    public VitConfig Config { get; }

    /// <summary>The transformer blocks, in order.</summary>
    public ModuleList<Block> Blocks => blocks;

    /// <summary>Patch embedding, class token, position embedding, blocks and final norm: (B, 1 + N, C).</summary>
    public Tensor ForwardFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = patch_embed.call(images);                              // (B, N, C)
        var cls = cls_token.expand(x.shape[0], -1, -1);                // (B, 1, C)
        x = cat([cls, x], dim: 1) + pos_embed;                         // (B, 1 + N, C)
        foreach (var block in blocks)
            x = block.call(x);                                         // (B, 1 + N, C)
        return norm.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>Class-token pooling and the classifier: (B, 1 + N, C) to (B, NumClasses).</summary>
    public Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = features.select(1, 0);                            // (B, C)
        return (preLogits ? pooled : head.call(pooled)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(images)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public int SummaryDim => Config.EmbedDim;
    /// <inheritdoc />
    public int FeatureDim => Config.EmbedDim;
    /// <inheritdoc />
    public int FeatureStride => Config.PatchSize;
    /// <inheritdoc />
    public Module Module => this;

    /// <summary>
    /// The backbone contract: summary = the normalized class token (B, D), features = the normalized patch tokens as
    /// a map (B, D, H/P, W/P), intermediates = the patch tokens after every quarter of the blocks (before the last).
    /// </summary>
    public BackboneOutput ForwardBackbone(Tensor images)
    {
        using var scope = NewDisposeScope();
        long B = images.shape[0], h = images.shape[2] / Config.PatchSize, w = images.shape[3] / Config.PatchSize;
        Tensor Map(Tensor t) => t.narrow(1, 1, h * w).transpose(1, 2).reshape(B, Config.EmbedDim, h, w);   // (B, D, h, w)
        var x = patch_embed.call(images);                                                     // (B, N, C)
        x = cat([cls_token.expand(B, -1, -1), x], dim: 1) + pos_embed;                       // (B, 1 + N, C)
        var intermediates = new List<Tensor>();
        int every = Math.Max(1, Config.Depth / 4);
        for (int i = 0; i < blocks.Count; i++)
        {
            x = blocks[i].call(x);
            if ((i + 1) % every == 0 && i + 1 < blocks.Count) intermediates.Add(Map(x).MoveToOuterDisposeScope());
        }
        x = norm.call(x);
        return new BackboneOutput(x.select(1, 0).MoveToOuterDisposeScope(), Map(x).MoveToOuterDisposeScope(), intermediates);
    }

    private void InitWeights()
    {
        using var noGrad = no_grad();
        TruncNormal_(pos_embed, std: 0.02);
        init.normal_(cls_token, std: 1e-6);
        foreach (var (_, module) in named_modules())
        {
            if (module is not Linear linear) continue;
            TruncNormal_(linear.weight!, std: 0.02);
            if (linear.bias is not null) init.zeros_(linear.bias);
        }
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> in place from N(mean, std^2) truncated to [a, b], as PyTorch's
    /// nn.init.trunc_normal_: uniform samples between the CDF values of the bounds, mapped back through erfinv.
    /// </summary>
    public static Tensor TruncNormal_(Tensor tensor, double mean = 0, double std = 1, double a = -2, double b = 2)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        static double NormCdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
        double lo = NormCdf((a - mean) / std), hi = NormCdf((b - mean) / std);
        using var noGrad = no_grad();
        tensor.uniform_(2 * lo - 1, 2 * hi - 1);
        tensor.erfinv_();
        tensor.mul_(std * Math.Sqrt(2));
        tensor.add_(mean);
        tensor.clamp_(a, b);
        return tensor;
    }

    // .NET has no Math.Erf: erf(x) = 1 - erfc(x), with erfc from Numerical Recipes' erfcc (fractional error below
    // 1.2e-7 everywhere), plenty for the CDF values of the truncation bounds.
    private static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - erfc : erfc - 1;
    }
}
