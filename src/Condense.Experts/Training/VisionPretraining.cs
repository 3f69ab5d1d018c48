// Stage 1, vision pre-training: the vision tower learns the anatomy of the slices by predicting, for every cell of
// its feature grid, the atlas label at the cell's centre (held-out regions are not trained: their cells are ignored).
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

    public VisionPretrainModel(VisionLanguageModel vlm, int classes) : base(nameof(VisionPretrainModel))
    {
        this.vlm = vlm;
        vision_tower = vlm.VisionTower;
        head = Linear(vlm.Config.VisionDim, classes);
        register_module(nameof(vision_tower), vision_tower);
        register_module(nameof(head), head);
    }

    /// <summary>Label logits (N, g², classes) of images (N, 3, S, S).</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var features = vlm.VisionFeatures(images);                 // (N, C, g, g)
        var cells = features.flatten(2).transpose(1, 2);           // (N, g², C)
        return head.call(cells).MoveToOuterDisposeScope();         // (N, g², classes)
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
