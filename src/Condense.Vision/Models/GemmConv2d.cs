// A Conv2d whose forward on large maps is k*k matrix products over shifted rows of the padded image, instead of
// libtorch's own convolution kernels (the path Condense runs, oneDNN being off: see README "Convolutions"). Those
// kernels copy the image k*k times (im2col) and ran 3-8x slower than ONNX Runtime's on FasterViT's and E-RADIO's 3x3
// convolutions at 1024 px (`condense bench profile`).
//
// The trick: in the padded image flattened to rows of pixels (NHWC, Hp*Wp rows of C channels), the input pixel that
// tap (dy, dx) reads for output pixel (i, j) sits at row (i + dy) * Wp + (j + dx), a fixed offset from the output's
// row i * Wp + j. So for every tap, all outputs at once are one matrix product of a contiguous block of rows with the
// tap's (Cin, Cout) weight, accumulated; the outputs' rows land on a grid Wp wide whose last k - 1 columns are junk and
// dropped. A stride-2 convolution first splits the padded image into its four (row, column) parity phases, each tap
// reading one phase at stride 1. A depthwise convolution (groups = channels) is k*k multiply-adds over the same
// shifted rows. Autograd differentiates the products and slices as usual, so training uses the same path.
//
// State-dict names and initialization are nn.Conv2d's (`weight`, `bias`; the parameters are taken from a freshly
// built nn.Conv2d, so the random stream is consumed exactly as before). Small maps (fewer than MinPixels outputs per
// image), other strides and grouped convolutions go to libtorch's conv2d.
//
// Deviations: none in the function computed; the summation order differs from libtorch's, so results differ in the
// last float32 bits (tested to 1e-5 relative against conv2d, outputs and gradients).
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>nn.Conv2d with a matrix-product forward for large maps (see the file notes).</summary>
public sealed class GemmConv2d : Module<Tensor, Tensor>
{
    /// <summary>
    /// Sends every GemmConv2d to libtorch's conv2d, for benchmarks that measure what this module changes (the
    /// ablation in `bench highres`); process-wide, off by default.
    /// </summary>
    public static bool AlwaysLibTorch { get; set; }

    /// <summary>Output pixels per image below which libtorch's conv2d is used (its fixed costs are lower there).</summary>
    public const long MinPixels = 1024;

    /// <summary>
    /// Input channels of the dense convolutions taken over. With fewer (a 3-channel stem) the products are too thin;
    /// with more, libtorch's single im2col product wins (measured with the probe in the notes of docs/benchmarks.md).
    /// </summary>
    public const long MinChannels = 16, MaxChannels = 128;

    private readonly Parameter weight;
    private readonly Parameter? bias;

    /// <summary>A Conv2d of <paramref name="inChannels"/> to <paramref name="outChannels"/> with PyTorch's init.</summary>
    public GemmConv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, long groups = 1, bool hasBias = true)
        : base(nameof(Conv2d))
    {
        using (var reference = Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, groups: groups, bias: hasBias))
        {
            weight = Parameter(reference.weight!.detach().clone());
            if (hasBias) bias = Parameter(reference.bias!.detach().clone());
        }
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Groups = groups;
        RegisterComponents();
    }

    /// <summary>Kernel side.</summary>
    public long Kernel { get; }

    /// <summary>Stride (both axes).</summary>
    public long Stride { get; }

    /// <summary>Zero padding (all sides).</summary>
    public long Padding { get; }

    /// <summary>Channel groups.</summary>
    public long Groups { get; }

    /// <summary>(Cout, Cin / groups, k, k).</summary>
    public Parameter Weight => weight;

    /// <summary>(Cout), or null.</summary>
    public Parameter? Bias => bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        long H = x.shape[2], W = x.shape[3];
        long Ho = (H + 2 * Padding - Kernel) / Stride + 1, Wo = (W + 2 * Padding - Kernel) / Stride + 1;
        long cin = x.shape[1], cout = weight.shape[0];
        bool dense = Groups == 1 && Stride is 1 or 2 && cin is >= MinChannels and <= MaxChannels;
        bool depthwise = Groups == cin && Groups == cout && Stride == 1;
        if (AlwaysLibTorch || Ho * Wo < MinPixels || Kernel == 1 || !(dense || depthwise))
            return functional.conv2d(x, weight, bias, strides: [Stride, Stride], padding: [Padding, Padding], groups: Groups);
        using var scope = NewDisposeScope();
        return (depthwise ? Depthwise(x, Ho, Wo) : Dense(x, Ho, Wo)).MoveToOuterDisposeScope();
    }

    // Groups 1, stride 1 or 2: k*k products (rows, Cin) @ (Cin, Cout) over shifted rows of each phase. The images of
    // the batch lie one after another in the rows (L each), so one product per tap covers the whole batch.
    private Tensor Dense(Tensor x, long Ho, long Wo)
    {
        long B = x.shape[0], C = x.shape[1], k = Kernel, s = Stride, cout = weight.shape[0];
        var (phases, Wq, L) = Phases(x.permute(0, 2, 3, 1), C);                                    // (s*s, B*L, C)
        long M = (Ho - 1) * Wq + Wo, rowsAll = (B - 1) * L + M;                                    // output rows on the Wq-wide grid
        var taps = weight.permute(2, 3, 1, 0);                                                    // (k, k, Cin, Cout)
        Tensor Rows(long dy, long dx) => phases[(dy % s) * s + dx % s].narrow(0, dy / s * Wq + dx / s, rowsAll);   // (rowsAll, Cin)
        // every image's L rows, filled with the bias; the products accumulate into the rows that hold outputs
        var y = bias is null ? zeros(B * L, cout, dtype: x.dtype) : bias.expand(B * L, cout).contiguous();   // (B*L, Cout)
        var outputs = y.narrow(0, 0, rowsAll);
        for (long t = 0; t < k * k; t++) outputs.addmm_(Rows(t / k, t % k), taps[t / k, t % k]);
        var z = y.view(B, L, cout).narrow(1, 0, Ho * Wq).view(B, Ho, Wq, cout).narrow(2, 0, Wo);  // (B, Ho, Wo, Cout)
        return z.permute(0, 3, 1, 2).contiguous();                                                 // (B, Cout, Ho, Wo)
    }

    // Depthwise, stride 1: k*k multiply-adds of shifted rows (channels first: rows are the flattened padded map).
    private Tensor Depthwise(Tensor x, long Ho, long Wo)
    {
        long B = x.shape[0], C = x.shape[1], k = Kernel, p = Padding;
        long Hp = x.shape[2] + 2 * p, Wp = x.shape[3] + 2 * p;
        var flat = functional.pad(x, [p, p, p, p]).reshape(B, C, Hp * Wp);                         // (B, C, Hp*Wp)
        long M = (Ho - 1) * Wp + Wo;
        Tensor? y = null;                                                                          // (B, C, M)
        for (long dy = 0; dy < k; dy++)
            for (long dx = 0; dx < k; dx++)
            {
                var tap = weight.select(3, dx).select(2, dy).view(1, C, 1);                        // (1, C, 1)
                var rows = flat.narrow(2, dy * Wp + dx, M);
                y = y is null ? rows * tap : y.addcmul(rows, tap, 1);
            }
        if (bias is not null) y = y! + bias.view(1, C, 1);
        return functional.pad(y!, [0, Ho * Wp - M]).view(B, C, Ho, Wp).narrow(3, 0, Wo).contiguous();   // (B, C, Ho, Wo)
    }

    // The zero-padded image (B, H, W, C) as s*s parity phases of flattened rows, (s*s, B*L, C), each Wq pixels wide
    // and L rows per image, with spare zero rows so that every tap's block of rows stays inside its image.
    private (Tensor Phases, long Wq, long L) Phases(Tensor nhwc, long C)
    {
        long s = Stride, p = Padding, k = Kernel, B = nhwc.shape[0];
        long Hp = nhwc.shape[1] + 2 * p, Wp = nhwc.shape[2] + 2 * p;
        long extraH = (s - Hp % s) % s + s * ((k - 1) / s + 1), extraW = (s - Wp % s) % s;
        var padded = functional.pad(nhwc, [0, 0, p, p + extraW, p, p + extraH]);                  // (B, Hp', Wp', C)
        long Hq = (Hp + extraH) / s, Wq = (Wp + extraW) / s;
        var phases = padded.view(B, Hq, s, Wq, s, C).permute(2, 4, 0, 1, 3, 5).reshape(s * s, B * Hq * Wq, C);
        return (phases, Wq, Hq * Wq);
    }
}
