// The learned segmentation expert: Condense's own small U-Net, trained on the training slices of Colin27 to segment
// lobes. It runs on the original volume: it segments the un-augmented slice the user's image was cut from, at its own
// resolution, and reads the lobe at the marked voxel there. Its mistakes are real (Dice on held-out slices is
// reported), unlike the atlas expert's.
using Condense.Experts.Data;
using Condense.Experts.Volumes;
using static TorchSharp.torch;

namespace Condense.Experts.Experts;

/// <summary>Lobe segmentation by a trained <see cref="LobeSegmenter"/>. Argument: <c>point</c>.</summary>
public sealed class SegmentExpert : IExpert
{
    private readonly LobeSegmenter model;

    /// <summary>An expert over a trained <paramref name="model"/> that reads <paramref name="pixels"/>-wide slices.</summary>
    public SegmentExpert(LobeSegmenter model, int pixels)
    {
        this.model = model;
        Pixels = pixels;
        model.eval();
    }

    /// <summary>The segmenter's input side.</summary>
    public int Pixels { get; }

    /// <inheritdoc />
    public string Name => "SEGMENT";

    /// <inheritdoc />
    public string ModelCard => "<SEGMENT(args)> : learned lobe segmentation of the brain slice, 8 lobes. Valid args: point.";

    /// <inheritdoc />
    public ExpertResult Run(string arguments, ExpertContext context)
    {
        if (arguments.Trim() != "point") throw new ExpertException($"SEGMENT takes the argument 'point', not '{arguments}'");
        if (context.Marker is not { Kind: MarkerKind.Point } m) throw new ExpertException("SEGMENT(point) needs a marked point on the image");
        var original = new SliceView(context.View.Plane, context.View.Index);
        var classes = Segment(context.Atlas, original);
        int ClassAt(int i, int j, int k)
        {
            var (a, b) = original.InPlane(i, j, k);
            var (u, v) = original.ToPixel(a, b, Pixels, context.Atlas.Size);
            int cu = (int)Math.Round(u), cv = (int)Math.Round(v);
            return cu < 0 || cv < 0 || cu >= Pixels || cv >= Pixels ? 0 : classes[cv * Pixels + cu];
        }
        int lobe = ClassAt(m.I, m.J, m.K);
        string text = lobe == 0 ? "The marked point lies outside the brain." : $"The marked point lies in the {Lobes.Names[lobe]} lobe.";
        var overlay = SliceRenderer.RenderOverlay(context.Atlas, context.View, context.ImagePixels,
            (i, j, k) => context.Atlas.T1.Contains(i, j, k) ? ClassAt(i, j, k) : 0, context.Marker);
        return new ExpertResult(text, overlay);
    }

    /// <summary>The predicted class of every pixel (row-major) of <paramref name="view"/> rendered without augmentation.</summary>
    public int[] Segment(BrainAtlas atlas, SliceView view)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var image = SliceRenderer.Render(atlas, view, Pixels);
        var grey = tensor(image[..(Pixels * Pixels)], [1, 1, Pixels, Pixels]);
        var predicted = model.call(grey).argmax(1).flatten();                   // (S²)
        return predicted.data<long>().Select(x => (int)x).ToArray();
    }
}
