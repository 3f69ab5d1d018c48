// The learned segmentation expert's network: a small U-Net (two poolings, skip connections, nearest upsampling)
// from a grey slice (N, 1, S, S) to lobe logits per pixel (N, classes, S, S).
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Experts.Experts;

/// <summary>A small U-Net for lobe segmentation of slices.</summary>
public sealed class LobeSegmenter : Module<Tensor, Tensor>
{
    private readonly Sequential enc1, enc2, enc3, dec2, dec1;
    private readonly Conv2d head;

    /// <summary>A freshly initialised network with <paramref name="width"/> channels at full resolution.</summary>
    public LobeSegmenter(int classes, int width = 16) : base(nameof(LobeSegmenter))
    {
        int w = width;
        enc1 = Block(1, w);
        enc2 = Block(w, 2 * w);
        enc3 = Block(2 * w, 4 * w);
        dec2 = Block(6 * w, 2 * w);
        dec1 = Block(3 * w, w);
        head = Conv2d(w, classes, 1);
        RegisterComponents();
    }

    private static Sequential Block(int cin, int cout) => Sequential(
        ("0", Conv2d(cin, cout, 3, padding: 1)), ("1", ReLU()),
        ("2", Conv2d(cout, cout, 3, padding: 1)), ("3", ReLU()));

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var e1 = enc1.call(x);                                                     // (N, w, S, S)
        var e2 = enc2.call(functional.max_pool2d(e1, 2));                          // (N, 2w, S/2, S/2)
        var e3 = enc3.call(functional.max_pool2d(e2, 2));                          // (N, 4w, S/4, S/4)
        var d2 = dec2.call(cat([Up(e3), e2], 1));                                  // (N, 2w, S/2, S/2)
        var d1 = dec1.call(cat([Up(d2), e1], 1));                                  // (N, w, S, S)
        return head.call(d1).MoveToOuterDisposeScope();                            // (N, classes, S, S)
    }

    private static Tensor Up(Tensor x) => functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
}
