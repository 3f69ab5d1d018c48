// Stage 1, vision pre-training: the vision tower learns the anatomy of the slices by predicting, for every cell of
// its feature grid, the atlas label at the cell's centre (held-out regions are not trained: their cells are ignored),
// and learns to see the readers' marks by predicting which cell holds the centre of the red mark drawn on most images.
using Condense.Experts.Data;
using Condense.Experts.Model;
using Condense.Experts.Volumes;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Experts.Training;

/// <summary>The vision tower with a per-cell label head.</summary>
internal sealed class VisionPretrainModel : Module<Tensor, Tensor>
{
    private readonly VisionLanguageModel vlm;
    private readonly Module vision_tower;
    private readonly Linear head;
    private readonly Linear mark_head;

    public VisionPretrainModel(VisionLanguageModel vlm, int classes) : base(nameof(VisionPretrainModel))
    {
        this.vlm = vlm;
        vision_tower = vlm.VisionTower;
        head = Linear(vlm.Config.VisionDim, classes);
        mark_head = Linear(vlm.Config.VisionDim, 1);
        register_module(nameof(vision_tower), vision_tower);
        register_module(nameof(head), head);
        register_module(nameof(mark_head), mark_head);
    }

    /// <summary>Label logits (N, g², classes) of images (N, 3, S, S).</summary>
    public override Tensor forward(Tensor images) => Forward(images).Labels;

    /// <summary>Label logits (N, g², classes) and mark logits (N, g²): which cell holds the mark's centre.</summary>
    public (Tensor Labels, Tensor Marks) Forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var features = vlm.VisionFeatures(images);                 // (N, C, g, g)
        var cells = features.flatten(2).transpose(1, 2);           // (N, g², C)
        var labels = head.call(cells);                             // (N, g², classes)
        var marks = mark_head.call(cells).squeeze(-1);             // (N, g²)
        return (labels.MoveToOuterDisposeScope(), marks.MoveToOuterDisposeScope());
    }

    /// <summary>The cell (row-major) whose patch holds the mark's centre, or -1 when it lies outside the image.</summary>
    public static long MarkCell(BrainAtlas atlas, SliceView view, VlmConfig config, Marker marker)
    {
        var (a, b) = view.InPlane(marker.I, marker.J, marker.K);
        var (u, v) = view.ToPixel(a, b, config.ImagePixels, atlas.Size);
        int cu = (int)Math.Round(u), cv = (int)Math.Round(v);
        if (cu < 0 || cv < 0 || cu >= config.ImagePixels || cv >= config.ImagePixels) return -1;
        return cv / config.PatchSize * config.Grid + cu / config.PatchSize;
    }

    /// <summary>The label at each feature cell's centre pixel, -100 for held-out regions.</summary>
    public static long[] CellLabels(BrainAtlas atlas, SliceView view, VlmConfig config, IReadOnlySet<int> heldOut)
    {
        int g = config.Grid, p = config.PatchSize;
        var labels = new long[g * g];
        for (int gv = 0; gv < g; gv++)
        for (int gu = 0; gu < g; gu++)
        {
            var (a, b) = view.FromPixel(gu * p + p / 2.0 - 0.5, gv * p + p / 2.0 - 0.5, config.ImagePixels, atlas.Size);
            var (i, j, k) = view.Voxel(Math.Round(a), Math.Round(b));
            int label = atlas.LabelAt((int)i, (int)j, (int)k);
            labels[gv * g + gu] = heldOut.Contains(label) ? -100 : label;
        }
        return labels;
    }
}
