// Patch embedding with Cropped Position Embedding (CPE), AM-RADIO (arXiv:2312.06709, section 4 "CPE").
// Reference: NVlabs/RADIO, radio/vit_patch_generator.py (ViTPatchGenerator, Im2Patches, ViTPatchLinear) as installed
// by radio/enable_cpe_support.py. Names follow the reference: `embedder.weight`, `pos_embed`, `cls_token.token`.
//
// The position table holds (MaxResolution / PatchSize)^2 learned vectors (init randn * D^-1/2). For a token grid
// of h x w:
// - equal to the table grid: the table itself (in training too, as the reference);
// - training: per sample, a random crop of the table (side scale ~ U(CropScaleMin, 1), aspect ratio log-uniform
//   in [CropAspectMin, CropAspectMax], x side = scale * aspect and y side = scale / aspect, clamped to 1, offset
//   ~ U(0, 1 - side)), resampled to h x w with grid_sample (bilinear, zero padding, align_corners=True);
// - evaluation: the table bilinearly resized (align_corners=False, as the reference since its CPE video change of
//   2025-06) to max(h, w)^2, then its top-left h x w window.
// In training a whole sample's position embedding is dropped with probability PosDropout.
//
// Deviations:
// - No patch_idxs gathering, video mode, patch normalizer (LayerNorm) or checkpoint resizing on load.
// - The patch projection has no bias (ViTPatchLinear for timm ViTs) and keeps PyTorch's default Linear init.
// - Position dropout multiplies by a 0/1 mask instead of torch.where (same values for finite tables).
using Condense.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>
/// Images (B, 3, H, W), already conditioned, to tokens (B, NumPrefixTokens + h*w, D): patchify, project, add the
/// CPE position embedding, prepend summary tokens and registers.
/// </summary>
internal sealed class ViTPatchGenerator : Module<Tensor, Tensor>
{
    private readonly Linear embedder;
    private readonly Parameter pos_embed;
    private readonly ClsToken cls_token;
    private readonly RadioStudentConfig config;

    public ViTPatchGenerator(RadioStudentConfig config) : base(nameof(ViTPatchGenerator))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        int p = config.PatchSize;
        embedder = Linear(3 * p * p, config.EmbedDim, hasBias: false);
        pos_embed = Parameter(randn(1, (long)config.MaxGrid * config.MaxGrid, config.EmbedDim)
            * Math.Pow(config.EmbedDim, -0.5));
        cls_token = new ClsToken(config.EmbedDim, config.NumClsTokens, config.ResolvedNumRegisters);
        RegisterComponents();
    }

    /// <summary>The learned position table (1, MaxGrid * MaxGrid, D), row-major over (y, x).</summary>
    public Parameter PosEmbed => pos_embed;

    /// <summary>The summary tokens and registers.</summary>
    public ClsToken ClsToken => cls_token;

    /// <summary>Throws <see cref="InputException"/> unless <paramref name="images"/> is (B, 3, H, W) with H and W
    /// multiples of the patch size.</summary>
    public void ValidateInput(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int p = config.PatchSize;
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new InputException(
                $"RADIO student expects images shaped (B, 3, H, W), got ({string.Join(", ", images.shape)}).");
        long H = images.shape[2], W = images.shape[3];
        if (H == 0 || W == 0 || H % p != 0 || W % p != 0)
            throw new InputException(
                $"RADIO student input size {H}x{W} is not a positive multiple of the patch size {p}.");
    }

    /// <summary>Non-overlapping p x p patches, flattened as (c, y, x): (B, 3, H, W) to (B, h*w, 3*p*p).</summary>
    public Tensor Im2Patches(Tensor images)
    {
        using var scope = NewDisposeScope();
        int p = config.PatchSize;
        long B = images.shape[0], C = images.shape[1], h = images.shape[2] / p, w = images.shape[3] / p;
        var x = images.reshape(B, C, h, p, w, p)       // (B, C, h, p, w, p)
            .permute(0, 2, 4, 1, 3, 5)                 // (B, h, w, C, p, p)
            .reshape(B, h * w, C * p * p);             // (B, h*w, C*p*p)
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Patch tokens without position: (B, 3, H, W) to (B, h*w, D).</summary>
    public Tensor EmbedPatches(Tensor images)
    {
        using var scope = NewDisposeScope();
        return embedder.call(Im2Patches(images)).MoveToOuterDisposeScope();   // (B, h*w, D)
    }

    /// <summary>
    /// The position embedding for an h x w token grid: (1, h*w, D) when it is the same for every sample (table
    /// grid or evaluation), (B, h*w, D) for training crops. Draws from the global RNG in training mode.
    /// </summary>
    public Tensor PositionEmbedding(long batchSize, long gridH, long gridW)
    {
        using var scope = NewDisposeScope();
        long G = config.MaxGrid, D = config.EmbedDim;
        if (gridH == G && gridW == G) return pos_embed.alias().MoveToOuterDisposeScope();   // (1, G*G, D)

        var table = pos_embed.reshape(1, G, G, D).permute(0, 3, 1, 2);    // (1, D, G, G)
        Tensor pos;
        if (training)
            pos = CropTable(table, batchSize, gridH, gridW);               // (B, D, h, w)
        else
        {
            long side = Math.Max(gridH, gridW);
            var resized = side == G ? table : nn.functional.interpolate(table, size: [side, side],
                mode: InterpolationMode.Bilinear, align_corners: false);   // (1, D, side, side)
            pos = resized.narrow(2, 0, gridH).narrow(3, 0, gridW);         // (1, D, h, w)
        }
        return pos.flatten(2).permute(0, 2, 1).MoveToOuterDisposeScope();  // (B|1, h*w, D)
    }

    // One random crop per sample, as normalized [-1, 1] grid_sample coordinates (x first, as grid_sample wants).
    private Tensor CropTable(Tensor table, long B, long h, long w)
    {
        double minScale = config.CropScaleMin;
        double logMin = Math.Log(config.CropAspectMin), logMax = Math.Log(config.CropAspectMax);
        var scale = rand(B, 1, 1) * (1 - minScale) + minScale;                      // (B, 1, 1)
        var aspect = exp(rand(B, 1, 1) * (logMax - logMin) + logMin);               // (B, 1, 1)
        var scaleXY = stack([scale * aspect, scale / aspect], dim: -1).clamp(0, 1); // (B, 1, 1, 2)
        var posXY = rand(B, 1, 1, 2) * (1 - scaleXY);                               // (B, 1, 1, 2)
        var linX = linspace(0, 1, w).reshape(1, 1, w).expand(B, h, w);             // (B, h, w)
        var linY = linspace(0, 1, h).reshape(1, h, 1).expand(B, h, w);             // (B, h, w)
        var grid = stack([linX, linY], dim: -1) * scaleXY + posXY;                  // (B, h, w, 2) in [0, 1]
        grid = grid * 2 - 1;                                                        // (B, h, w, 2) in [-1, 1]
        return nn.functional.grid_sample(table.expand(B, -1, -1, -1), grid, GridSampleMode.Bilinear,
            GridSamplePaddingMode.Zeros, align_corners: true);                      // (B, D, h, w)
    }

    public override Tensor forward(Tensor images)
    {
        ValidateInput(images);
        using var scope = NewDisposeScope();
        long B = images.shape[0], h = images.shape[2] / config.PatchSize, w = images.shape[3] / config.PatchSize;
        var x = EmbedPatches(images);                                      // (B, h*w, D)
        var pos = PositionEmbedding(B, h, w);                              // (B|1, h*w, D)
        if (training && config.PosDropout > 0)
        {
            var keep = (rand(B, 1, 1) > config.PosDropout).to_type(pos.dtype);   // (B, 1, 1)
            pos = pos * keep;                                                    // (B, h*w, D)
        }
        x = cls_token.call(x + pos);                                       // (B, T + h*w, D)
        return x.MoveToOuterDisposeScope();
    }
}
