// Building blocks of E-RADIO (arXiv:2312.06709). Reference: NVlabs/RADIO radio/eradio_model.py: Conv2d_BN (`conv`,
// `bn`), the YOLOv8 Conv (`conv`, `bn`, SiLU), Bottleneck (`cv1`, `cv2`) and C2f (`cv1`, `cv2`, `m`), and
// GRAAttentionBlock (`downsample_op` / `upsample_op` strided conv and transposed conv when subsampling, `pre_conv`
// 3x3 Conv2d_BN otherwise, `norm1`, `attn`, `norm2`, `mlp`). Names follow the reference.
//
// GRAAttentionBlock, as the reference with conv_base and windowing in every block:
//   skip = x; if sr == 1: x = x + pre_conv(x)             cross-window mixing at full resolution
//   x = downsample_op(x)                                   sr x sr stride-sr conv (sr = 2: the "global" branch)
//   windows of k x k (one window when the map is k x k), reflect-padded to a multiple of k
//   x += attn(norm1(x)); x += mlp(norm2(x))                SwinV2 log-CPB bias, GELU MLP without biases
//   back to a map (cropped), x = upsample_op(x) (transposed conv), padded/cropped to the skip's size
//   out = 0.5 x + 0.5 skip
//
// Deviations: no DropPath, no shifted windows, no multi-query attention, no SwiGLU, no BN folding
// (switch_to_deploy); conv_groups_ratio 0 only (a full 3x3 pre_conv, as `eradio`).
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Conv2d without bias followed by BatchNorm2d (the reference's Conv2d_BN), optionally an activation.</summary>
internal sealed class ERadioConvBN : Module<Tensor, Tensor>
{
    private readonly GemmConv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Module<Tensor, Tensor>? act;

    public ERadioConvBN(int a, int b, int kernel, int stride = 1, int padding = 0, int groups = 1, bool silu = false)
        : base("Conv2d_BN")
    {
        conv = new GemmConv2d(a, b, kernel, stride: stride, padding: padding, groups: groups, hasBias: false);
        bn = BatchNorm2d(b);
        if (silu) act = SiLU();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = bn.call(conv.call(x));
        return act is null ? y : act.call(y);
    }
}

/// <summary>YOLOv8 bottleneck with a residual: x + cv2(cv1(x)), two 3x3 Conv-BN-SiLU.</summary>
internal sealed class ERadioBottleneck : Module<Tensor, Tensor>
{
    private readonly ERadioConvBN cv1;
    private readonly ERadioConvBN cv2;

    public ERadioBottleneck(int c) : base("Bottleneck")
    {
        cv1 = new ERadioConvBN(c, c, 3, padding: 1, silu: true);
        cv2 = new ERadioConvBN(c, c, 3, padding: 1, silu: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x + cv2.call(cv1.call(x));
}

/// <summary>YOLOv8 C2f: split cv1's output in two, chain n bottlenecks on the second half, concat all, cv2.</summary>
internal sealed class ERadioC2f : Module<Tensor, Tensor>
{
    private readonly ERadioConvBN cv1;
    private readonly ERadioConvBN cv2;
    private readonly ModuleList<ERadioBottleneck> m;
    private readonly int c;

    public ERadioC2f(int dim, int n) : base("C2f")
    {
        c = dim / 2;
        cv1 = new ERadioConvBN(dim, 2 * c, 1, silu: true);
        cv2 = new ERadioConvBN((2 + n) * c, dim, 1, silu: true);
        m = new ModuleList<ERadioBottleneck>(Enumerable.Range(0, n).Select(_ => new ERadioBottleneck(c)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = cv1.call(x).chunk(2, 1).ToList();                    // 2 x (B, c, H, W)
        foreach (var b in m) y.Add(b.call(y[^1]));
        return cv2.call(cat(y, 1)).MoveToOuterDisposeScope();         // (B, dim, H, W)
    }
}

/// <summary>One attention block of multi-resolution attention, on a feature map (B, C, H, W).</summary>
internal sealed class ERadioGRAAttentionBlock : Module<Tensor, Tensor>
{
    private readonly GemmConv2d? downsample_op;
    private readonly ConvTranspose2d? upsample_op;
    private readonly ERadioConvBN? pre_conv;
    private readonly LayerNorm norm1;
    private readonly FasterViTWindowAttention attn;
    private readonly LayerNorm norm2;
    private readonly FasterViTMlp mlp;
    private readonly Parameter? gamma1;
    private readonly Parameter? gamma2;
    private readonly int subsample;

    public ERadioGRAAttentionBlock(ERadioConfig config, int dim, int numHeads, int window, int subsampleRatio)
        : base("GRAAttentionBlock")
    {
        subsample = subsampleRatio;
        Window = window;
        if (subsampleRatio > 1)
        {
            downsample_op = new GemmConv2d(dim, dim, subsampleRatio, stride: subsampleRatio);
            upsample_op = ConvTranspose2d(dim, dim, subsampleRatio, stride: subsampleRatio);
        }
        else pre_conv = new ERadioConvBN(dim, dim, 3, padding: 1);
        norm1 = LayerNorm(dim);
        attn = new FasterViTWindowAttention(dim, numHeads, config.QkvBias, window, window * window, projBias: false,
            cpbHidden: config.CpbMlpHidden);
        norm2 = LayerNorm(dim);
        mlp = new FasterViTMlp(dim, (int)(dim * config.MlpRatio), bias: false);
        if (config.LayerScale is double ls)
        {
            gamma1 = Parameter(ones(dim) * ls);
            gamma2 = Parameter(ones(dim) * ls);
        }
        RegisterComponents();
    }

    /// <summary>Window side (the reference's change_window_size sets it for every block).</summary>
    public int Window { get; set; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var skip = x;
        if (pre_conv is not null) x = pre_conv.call(x) + skip;
        if (downsample_op is not null) x = downsample_op.call(x);                                 // (B, C, H/sr, W/sr)
        long B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
        int k = Window;
        Tensor t;
        long Hp = H, Wp = W;
        if (k == H && k == W) t = x.flatten(2).transpose(1, 2);                                  // one window (B, HW, C)
        else
        {
            long padH = (k - H % k) % k, padW = (k - W % k) % k;
            if (padH > 0 || padW > 0) x = functional.pad(x, [0, padW, 0, padH], PaddingModes.Reflect);
            Hp = H + padH;
            Wp = W + padW;
            t = x.view(B, C, Hp / k, k, Wp / k, k).permute(0, 2, 4, 3, 5, 1).reshape(-1, k * k, C);   // (B*nW, k*k, C)
        }
        var a = attn.call(norm1.call(t), k, k);
        t = t + (gamma1 is null ? a : a * gamma1);
        var f = mlp.call(norm2.call(t));
        t = t + (gamma2 is null ? f : f * gamma2);
        if (k == H && k == W) x = t.transpose(1, 2).reshape(B, C, H, W);
        else
        {
            x = t.view(B, Hp / k, Wp / k, k, k, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, Hp, Wp);
            if (Hp > H || Wp > W) x = x[.., .., ..(int)H, ..(int)W];
        }
        if (upsample_op is not null) x = upsample_op.call(x);                                    // (B, C, ~H*sr, ~W*sr)
        if (x.shape[2] != skip.shape[2] || x.shape[3] != skip.shape[3])
        {
            x = x[.., .., ..(int)Math.Min(x.shape[2], skip.shape[2]), ..(int)Math.Min(x.shape[3], skip.shape[3])];
            long dh = skip.shape[2] - x.shape[2], dw = skip.shape[3] - x.shape[3];
            if (dh > 0 || dw > 0) x = functional.pad(x, [0, dw, 0, dh], PaddingModes.Reflect);   // (B, C, H, W)
        }
        return (0.5 * x + 0.5 * skip).MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-resolution attention: one attention block per subsampling ratio, applied in turn.</summary>
internal sealed class ERadioMultiResolutionAttention : Module<Tensor, Tensor>
{
    private readonly ModuleList<ERadioGRAAttentionBlock> attention_blocks;

    public ERadioMultiResolutionAttention(ERadioConfig config, int dim, int numHeads, IReadOnlyList<int> srRatio)
        : base("MultiResolutionAttention")
    {
        attention_blocks = new ModuleList<ERadioGRAAttentionBlock>(srRatio
            .Select(sr => new ERadioGRAAttentionBlock(config, dim, numHeads, config.WindowSize, sr)).ToArray());
        RegisterComponents();
    }

    public IEnumerable<ERadioGRAAttentionBlock> Blocks => attention_blocks;

    public override Tensor forward(Tensor x)
    {
        foreach (var b in attention_blocks) x = b.call(x);
        return x;
    }
}
