// Building blocks of FasterViT (arXiv:2306.06189). Reference: NVlabs/FasterViT fastervit/models/faster_vit.py and
// faster_vit_any_res.py (PatchEmbed, ConvBlock, Downsample, Mlp, WindowAttention, TokenInitializer); module and
// parameter names follow the reference, so state-dict keys match (`conv_down.0.weight`, `conv1`, `norm1`,
// `reduction.0.weight`, `qkv`, `proj`, `pos_emb_funct.cpb_mlp.*`, `to_global_feature` -> see TokenInitializer).
//
// Deviations:
// - No dropout, attention dropout or stochastic depth (DropPath): the blocks are the inference/fine-tune graph.
// - TokenInitializer computes its pooling kernel and stride from the (padded) input at every call, with the
//   reference's formula, instead of fixing them at construction: the same numbers at the construction
//   resolution, and valid at any other. Its conv is registered once as `pos_embed`; the reference also lists
//   the same conv under `to_global_feature.pos` (a shared module), a duplicate key to drop when converting.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Stem: two 3x3 stride-2 convs with BatchNorm (eps 1e-4) and ReLU: (B, 3, H, W) to (B, dim, H/4, W/4).</summary>
internal sealed class FasterViTPatchEmbed : Module<Tensor, Tensor>
{
    private readonly Sequential conv_down;

    public FasterViTPatchEmbed(int inChannels, int inDim, int dim) : base("PatchEmbed")
    {
        conv_down = Sequential(
            new GemmConv2d(inChannels, inDim, 3, stride: 2, padding: 1, hasBias: false), BatchNorm2d(inDim, eps: 1e-4), ReLU(),
            new GemmConv2d(inDim, dim, 3, stride: 2, padding: 1, hasBias: false), BatchNorm2d(dim, eps: 1e-4), ReLU());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv_down.call(x);   // (B, dim, H/4, W/4)
}

/// <summary>Residual conv block: x + BN(conv(GELU(BN(conv(x))))) (optionally times a layer scale).</summary>
internal sealed class FasterViTConvBlock : Module<Tensor, Tensor>
{
    private readonly GemmConv2d conv1;
    private readonly BatchNorm2d norm1;
    private readonly GELU act1;
    private readonly GemmConv2d conv2;
    private readonly BatchNorm2d norm2;
    private readonly Parameter? gamma;

    public FasterViTConvBlock(int dim, double? layerScale = null) : base("ConvBlock")
    {
        conv1 = new GemmConv2d(dim, dim, 3, padding: 1);
        norm1 = BatchNorm2d(dim, eps: 1e-5);
        act1 = GELU();
        conv2 = new GemmConv2d(dim, dim, 3, padding: 1);
        norm2 = BatchNorm2d(dim, eps: 1e-5);
        if (layerScale is double ls) gamma = Parameter(ones(dim) * ls);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = norm2.call(conv2.call(act1.call(norm1.call(conv1.call(x)))));   // (B, C, H, W)
        if (gamma is not null) y = y * gamma.view(1, -1, 1, 1);
        return (x + y).MoveToOuterDisposeScope();
    }
}

/// <summary>LayerNorm2d then a 3x3 stride-2 conv without bias that doubles the channels.</summary>
internal sealed class FasterViTDownsample : Module<Tensor, Tensor>
{
    private readonly LayerNorm2d norm;
    private readonly Sequential reduction;

    public FasterViTDownsample(int dim) : base("Downsample")
    {
        norm = new LayerNorm2d(dim);
        reduction = Sequential(new GemmConv2d(dim, 2 * dim, 3, stride: 2, padding: 1, hasBias: false));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => reduction.call(norm.call(x));   // (B, 2C, H/2, W/2)
}

/// <summary>fc1 -> GELU -> fc2 on the last dimension.</summary>
internal sealed class FasterViTMlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly GELU act;
    private readonly Linear fc2;

    public FasterViTMlp(int dim, int hidden, bool bias = true) : base("Mlp")
    {
        fc1 = Linear(dim, hidden, hasBias: bias);
        act = GELU();
        fc2 = Linear(hidden, dim, hasBias: bias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.call(act.call(fc1.call(x)));
}

/// <summary>
/// Multi-head attention over the tokens of one window, with a SwinV2 position bias on the last h*w tokens (any
/// tokens before them, e.g. carrier tokens, get zero bias): (B', P + h*w, C) to the same shape.
/// </summary>
internal sealed class FasterViTWindowAttention : Module<Tensor, int, int, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly SwinV2PositionBias pos_emb_funct;
    private readonly int numHeads;
    private readonly double scale;

    /// <param name="resolution">Window side at construction (the bias normalizer).</param>
    /// <param name="seqLength">Tokens per window at construction, prefix included.</param>
    public FasterViTWindowAttention(int dim, int numHeads, bool qkvBias, int resolution, int seqLength,
        bool projBias = true, int cpbHidden = 512) : base("WindowAttention")
    {
        this.numHeads = numHeads;
        scale = Math.Pow(dim / numHeads, -0.5);
        qkv = Linear(dim, dim * 3, hasBias: qkvBias);
        proj = Linear(dim, dim, hasBias: projBias);
        pos_emb_funct = new SwinV2PositionBias(resolution, numHeads, seqLength, cpbHidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, int h, int w)
    {
        using var scope = NewDisposeScope();
        long B = x.shape[0], N = x.shape[1], C = x.shape[2];
        var parts = qkv.call(x).reshape(B, N, 3, numHeads, C / numHeads).permute(2, 0, 3, 1, 4).unbind(0);   // 3 x (B, nh, N, hd)
        var attn = matmul(parts[0] * scale, parts[1].transpose(-2, -1));                                    // (B, nh, N, N)
        attn = (attn + pos_emb_funct.Bias(h, w, (int)N - h * w)).softmax(-1);
        var y = matmul(attn, parts[2]).transpose(1, 2).reshape(B, N, C);                                    // (B, N, C)
        return proj.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Carrier-token initializer: a depthwise 3x3 conv (no residual) and an average pool that leaves ct_size x ct_size
/// tokens per window, returned window-major: (B, C, H, W) with H, W multiples of the window to (B, nW * ct^2, C).
/// </summary>
internal sealed class FasterViTTokenInitializer : Module<Tensor, Tensor>
{
    private readonly GemmConv2d pos_embed;
    private readonly int window;
    private readonly int ct;

    public FasterViTTokenInitializer(int dim, int window, int ctSize) : base("TokenInitializer")
    {
        this.window = window;
        ct = ctSize;
        pos_embed = new GemmConv2d(dim, dim, 3, padding: 1, groups: dim);
        RegisterComponents();
    }

    /// <summary>The reference's pool: output ct * n / window per axis, stride n / output, kernel n - (output - 1) * stride.</summary>
    public static (long Kernel, long Stride, long Output) Pool(long n, int window, int ct)
    {
        long output = ct * n / window, stride = n / output;
        return (n - (output - 1) * stride, stride, output);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (kh, sh, _) = Pool(x.shape[2], window, ct);
        var (kw, sw, _) = Pool(x.shape[3], window, ct);
        var g = functional.avg_pool2d(pos_embed.call(x), [kh, kw], [sh, sw]);                 // (B, C, Hc, Wc)
        long B = g.shape[0], C = g.shape[1], Hc = g.shape[2], Wc = g.shape[3];
        var tokens = g.view(B, C, Hc / ct, ct, Wc / ct, ct).permute(0, 2, 4, 3, 5, 1)          // (B, nWy, nWx, ct, ct, C)
            .reshape(B, Hc * Wc, C);                                                            // (B, nW * ct^2, C)
        return tokens.MoveToOuterDisposeScope();
    }
}
