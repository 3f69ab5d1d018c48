// Mosaic augmentation for a high-resolution teacher (RADIOv2.5, finding 3; NVIDIA TAO's RADIO mosaic
// configuration: inner = teacher canvas, outer = per-image view, downsample = teacher feature stride).
//
// A high-resolution teacher fed one low-resolution student image either wastes most of its canvas (pad the image
// into it) or needs the image upsampled. Mosaic packs k×k DIFFERENT images, each at tile = canvas / k pixels, into
// one canvas, runs the teacher once, and cuts its feature map back into per-image tiles: k² samples for the price
// of one teacher pass, each at the teacher's native feature density.
//
// Deviations:
// - Tiles are square and the canvas is exactly k tiles wide (the reference also allows padded layouts such as
//   1024/432 → 2×2 with padding).
// - A mosaic has no meaningful summary, so the mosaic teacher has features only (as TAO requires
//   summary_loss_weight = 0 for mosaic teachers).
// - Convolutional teachers see their neighbours across tile borders (receptive-field leakage); features of a
//   tile then differ from the image run alone near the border. That is measured, not hidden.
using Condense.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>Packing images into mosaics and cutting feature maps back into tiles.</summary>
public static class Mosaic
{
    /// <summary>(B, C, s, s) images → (⌈B/k²⌉, C, k·s, k·s) canvases, row-major tiles, zero-filled when B % k² ≠ 0.</summary>
    public static Tensor Pack(Tensor images, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "must be at least 1");
        long b = images.shape[0], c = images.shape[1], s = images.shape[2];
        if (images.shape[3] != s) throw new ArgumentException("mosaic tiles must be square", nameof(images));
        long per = (long)k * k, canvases = (b + per - 1) / per;
        using var scope = torch.NewDisposeScope();
        var x = images;
        if (canvases * per != b) x = torch.cat([x, torch.zeros(canvases * per - b, c, s, s, dtype: x.dtype)], 0);
        x = x.reshape(canvases, k, k, c, s, s)                               // (M, ky, kx, C, s, s)
             .permute(0, 3, 1, 4, 2, 5)                                      // (M, C, ky, s, kx, s)
             .reshape(canvases, c, k * s, k * s);                            // (M, C, k·s, k·s)
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>(M, C, k·g, k·g) feature maps → the first <paramref name="count"/> tiles as (count, C, g, g).</summary>
    public static Tensor Unpack(Tensor features, int k, long count)
    {
        long m = features.shape[0], c = features.shape[1], side = features.shape[2];
        if (side % k != 0 || features.shape[3] != side)
            throw new InputException($"mosaic: a {side}x{features.shape[3]} feature map cannot be cut into {k}x{k} equal tiles");
        long g = side / k;
        using var scope = torch.NewDisposeScope();
        var tiles = features.reshape(m, c, k, g, k, g)                      // (M, C, ky, g, kx, g)
                            .permute(0, 2, 4, 1, 3, 5)                       // (M, ky, kx, C, g, g)
                            .reshape(m * k * k, c, g, g);                    // (M·k², C, g, g)
        return tiles.narrow(0, 0, count).contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A teacher run on k×k mosaics: each image is resized to <c>inner.InputSize / k</c>, packed, the inner teacher
/// runs once per k² images at its own input size, and its feature map is cut back into per-image tiles.
/// </summary>
public sealed class MosaicTeacher : ITeacher
{
    private readonly ITeacher _inner;

    /// <summary>Wraps <paramref name="inner"/>, which needs spatial features and an input size and grid divisible by <paramref name="tilesPerSide"/>.</summary>
    /// <param name="inner">The teacher run on the mosaics; this wrapper disposes it.</param>
    /// <param name="tilesPerSide">k: images per canvas side.</param>
    /// <param name="name">The teacher's name; default the inner teacher's.</param>
    public MosaicTeacher(ITeacher inner, int tilesPerSide, string? name = null)
    {
        if (tilesPerSide < 1) throw new InputException($"mosaic: tiles per side {tilesPerSide} must be at least 1");
        if (inner.FeatureDim is null) throw new InputException($"mosaic: teacher '{inner.Name}' has no spatial features to cut into tiles");
        if (inner.InputSize % tilesPerSide != 0)
            throw new InputException($"mosaic: teacher '{inner.Name}' input size {inner.InputSize} is not divisible into {tilesPerSide}x{tilesPerSide} tiles");
        if (inner.FeatureGrid is int grid && grid % tilesPerSide != 0)
            throw new InputException($"mosaic: teacher '{inner.Name}' feature grid {grid} is not divisible into {tilesPerSide}x{tilesPerSide} tiles");
        _inner = inner;
        TilesPerSide = tilesPerSide;
        Name = name ?? inner.Name;
    }

    /// <summary>k: images per canvas side.</summary>
    public int TilesPerSide { get; }
    /// <inheritdoc />
    public string Name { get; }
    /// <inheritdoc />
    public string Fingerprint => $"mosaic{TilesPerSide}:{_inner.Fingerprint}";

    /// <summary>Each image's tile size inside the canvas.</summary>
    public int InputSize => _inner.InputSize / TilesPerSide;
    /// <inheritdoc />
    public int? SummaryDim => null;
    /// <inheritdoc />
    public int? FeatureDim => _inner.FeatureDim;
    /// <inheritdoc />
    public int? FeatureGrid => _inner.FeatureGrid / TilesPerSide;

    /// <summary>Inner-teacher passes per image: 1 / k².</summary>
    public double TeacherPassesPerImage => 1.0 / (TilesPerSide * TilesPerSide);

    /// <inheritdoc />
    public TeacherOutput Forward(Tensor images)
    {
        TeacherImages.Check(images);
        using var scope = torch.NewDisposeScope();
        var tiles = TeacherImages.Resize(images, InputSize);                     // (B, 3, t, t)
        var canvases = Mosaic.Pack(tiles, TilesPerSide);                          // (M, 3, k·t, k·t)
        var features = _inner.Forward(canvases).Features!;                        // (M, C, k·g, k·g)
        var perImage = Mosaic.Unpack(features, TilesPerSide, images.shape[0]);    // (B, C, g, g)
        return new TeacherOutput(null, perImage.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
