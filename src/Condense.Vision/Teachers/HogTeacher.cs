// Histograms of oriented gradients as a dense, handcrafted teacher, the way MaskFeat predicts them (Wei et al.
// 2022, "Masked Feature Prediction for Self-Supervised Visual Pre-Training", arXiv:2112.09133, section 3.2;
// reference facebookresearch/SlowFast slowfast/models/operators.py HOGLayerC and masked.py
// MaskMViT._get_hog_label_2d). Per RGB channel separately:
//   1. gradients gx, gy with the 3x3 Sobel kernels [[1, 0, -1], [2, 0, -2], [1, 0, -1]] and its transpose,
//      after reflect-padding the image by one pixel;
//   2. magnitude sqrt(gx^2 + gy^2) and unsigned orientation atan2(gx, gy) folded into [0, pi);
//   3. hard assignment: each pixel adds its magnitude to bin floor(angle / pi * Bins) (no interpolation
//      between neighbouring bins, as the reference);
//   4. sum-pooling over CellSize x CellSize cells;
//   5. L2 normalization of each cell's Bins-vector (per channel, per cell);
//   6. per patch of PatchSize x PatchSize pixels, the (PatchSize / CellSize)^2 cells of all 3 channels are
//      concatenated in the reference's order (channel, bin, cell row, cell column): 3 * 9 * 2 * 2 = 108 values
//      for the default 16 px patches of 8 px cells.
// With 9 bins the orientation 0 (gradient along the rows' direction y, i.e. a horizontal edge) is bin 0 and a
// gradient along x (a vertical edge, angle pi/2) is bin 4.
//
// Deviations:
// - MaskFeat computes HOG on the mean/std-normalized network input; here it runs on the [0, 1] image. The mean
//   shift does not change gradients and the per-channel std scale cancels in the per-cell L2 normalization, so
//   the two agree up to the normalization's 1e-12 epsilon.
// - The reference's optional Gaussian window over the magnitudes is off in MaskFeat (gaussian_window=0) and
//   left out here.
// - The Sobel filters run as their separable form on slices (difference [1, 0, -1] along one axis, smoothing
//   [1, 2, 1] along the other) instead of a convolution: the same sums, but a flat area gives exactly zero.
//   A conv kernel leaves ~1e-7 rounding noise there, which step 5 would inflate to a spurious unit histogram.
// - No summary output: HOG is a purely spatial teacher.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>HOG hyper-parameters; defaults are MaskFeat's (9 bins, 8 px cells, 16 px patches at 224 px).</summary>
public sealed record HogConfig(int InputSize = 224, int CellSize = 8, int PatchSize = 16, int Bins = 9)
{
    /// <summary>Cells along one side of a patch.</summary>
    public int CellsPerPatch => PatchSize / CellSize;

    /// <summary>Values per patch: 3 channels x Bins x CellsPerPatch^2.</summary>
    public int FeatureDim => 3 * Bins * CellsPerPatch * CellsPerPatch;

    /// <summary>Patches along one side of the input.</summary>
    public int Grid => InputSize / PatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not nest.</summary>
    public void Validate()
    {
        if (InputSize <= 0 || CellSize <= 0 || PatchSize <= 0 || Bins <= 0)
            throw new ArgumentException($"HogConfig has a non-positive value: {this}");
        if (PatchSize % CellSize != 0)
            throw new ArgumentException($"PatchSize {PatchSize} is not a multiple of CellSize {CellSize}");
        if (InputSize % PatchSize != 0)
            throw new ArgumentException($"InputSize {InputSize} is not a multiple of PatchSize {PatchSize}");
    }
}

/// <summary>MaskFeat's HOG as a dense <see cref="ITeacher"/>: Features (B, 3·Bins·(P/cell)², H/P, W/P).</summary>
public sealed class HogTeacher : ITeacher
{
    /// <summary>The HOG hyper-parameters.</summary>
    public HogConfig Config { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Fingerprint { get; }

    /// <inheritdoc />
    public int InputSize => Config.InputSize;

    /// <inheritdoc />
    public int? SummaryDim => null;

    /// <inheritdoc />
    public int? FeatureDim => Config.FeatureDim;

    /// <inheritdoc />
    public int? FeatureGrid => Config.Grid;

    /// <summary>A HOG teacher; <paramref name="config"/> defaults to MaskFeat's settings at 224 px.</summary>
    public HogTeacher(HogConfig? config = null, string name = TeacherRegistry.Hog)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Config = config ?? new HogConfig();
        Config.Validate();
        Name = name;
        Fingerprint = TeacherFingerprint.Of(("teacher", nameof(HogTeacher)), ("input_size", Config.InputSize),
            ("cell_size", Config.CellSize), ("patch_size", Config.PatchSize), ("bins", Config.Bins),
            ("gradient", "sobel-reflect"), ("assignment", "hard"), ("normalization", "l2-per-cell"));
    }

    /// <inheritdoc />
    public TeacherOutput Forward(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var cells = CellHistograms(images);                         // (B, 3, Bins, S/c, S/c)
        long b = cells.shape[0], k = Config.CellsPerPatch, g = Config.Grid;
        var features = cells.reshape(b, 3 * Config.Bins, g, k, g, k)
            .permute(0, 1, 3, 5, 2, 4)                              // (B, 3·Bins, k, k, g, g)
            .reshape(b, Config.FeatureDim, g, g);                   // (B, 3·Bins·k², g, g)
        return new TeacherOutput(null, scope.MoveToOuter(features.contiguous()));
    }

    /// <summary>
    /// Per-cell, per-channel orientation histograms, each L2-normalized over its bins (all zeros where the cell
    /// has no gradient): (B, 3, H, W) RGB in [0, 1] -> (B, 3, Bins, InputSize / CellSize, InputSize / CellSize).
    /// </summary>
    public Tensor CellHistograms(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = TeacherImages.Resize(images, InputSize);                                  // (B, 3, S, S)
        x = nn.functional.pad(x, [1, 1, 1, 1], PaddingModes.Reflect);                     // (B, 3, S+2, S+2)
        var (gx, gy) = Sobel(x);                                                          // (B, 3, S, S) each
        var magnitude = (gx.square() + gy.square()).sqrt();
        // atan2 is in [-pi, pi]; remainder folds it to the unsigned [0, pi) as bins 0 .. Bins-1.
        var bin = (atan2(gx, gy) / Math.PI * Config.Bins).floor().remainder(Config.Bins);

        var cell = Config.CellSize;
        var histograms = new Tensor[Config.Bins];
        for (var i = 0; i < Config.Bins; i++)
        {
            var votes = magnitude * bin.eq(i);                                            // (B, 3, S, S)
            histograms[i] = nn.functional.avg_pool2d(votes, cell, cell) * (cell * cell); // cell sums
        }
        var cells = stack(histograms, 2);                                                 // (B, 3, Bins, S/c, S/c)
        return scope.MoveToOuter(nn.functional.normalize(cells, p: 2, dim: 2));
    }

    /// <summary>
    /// Cross-correlation with [[1, 0, -1], [2, 0, -2], [1, 0, -1]] (gx) and its transpose (gy), as the
    /// reference's conv2d, computed separably: (B, C, S+2, S+2) padded -> two (B, C, S, S).
    /// </summary>
    public static (Tensor Gx, Tensor Gy) Sobel(Tensor padded)
    {
        var dx = padded[.., .., .., ..^2] - padded[.., .., .., 2..];            // left - right: (B, C, S+2, S)
        var gx = dx[.., .., ..^2] + 2 * dx[.., .., 1..^1] + dx[.., .., 2..];    // smoothed down the rows
        var dy = padded[.., .., ..^2] - padded[.., .., 2..];                    // up - down: (B, C, S, S+2)
        var gy = dy[.., .., .., ..^2] + 2 * dy[.., .., .., 1..^1] + dy[.., .., .., 2..];
        return (gx, gy);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Nothing to free: the filters are slices, not weight tensors.
    }
}
