// Hyper-parameters of the AM-RADIO student ViT, "AM-RADIO: Agglomerative Vision Foundation Model", Ranzinger et
// al., arXiv:2312.06709. Reference: NVlabs/RADIO, radio/enable_cpe_support.py (_enable_cpe_for_timm_vit),
// radio/vit_patch_generator.py (ViTPatchGenerator._get_pos_embeddings) and radio/cls_token.py (ClsToken).
//
// Deviations:
// - MaxResolution must be a multiple of PatchSize; the reference rounds it to the nearest multiple instead.
// - The crop ranges are configurable; the defaults are the reference's fixed values (scale in [sqrt(0.1), 1],
//   aspect log-uniform in [3/4, 4/3]).
// - RegisterMultiple defaults to 8 (RADIOv2.5-B: 4 summary tokens + 4 registers = 8 prefix tokens); the
//   reference takes it from the training arguments.
using Condense.Vision.Models;

namespace Condense.Vision.Radio;

/// <summary>Hyper-parameters of <see cref="RadioStudent"/>: a plain ViT with CPE, summary tokens, registers.</summary>
public sealed record RadioStudentConfig(
    int PatchSize = 4,
    int EmbedDim = 128,
    int Depth = 6,
    int NumHeads = 4,
    double MlpRatio = 4,
    int MaxResolution = 128,
    int NumClsTokens = 1,
    int? NumRegisters = null,
    int RegisterMultiple = 8,
    double PosDropout = 0.1)
{
    /// <summary>Smallest side of a training crop of the position table, relative to the table (sqrt(0.1)).</summary>
    public double CropScaleMin { get; init; } = Math.Sqrt(0.1);

    /// <summary>Smallest aspect ratio (width / height) of a training crop, sampled log-uniformly.</summary>
    public double CropAspectMin { get; init; } = 3.0 / 4.0;

    /// <summary>Largest aspect ratio (width / height) of a training crop, sampled log-uniformly.</summary>
    public double CropAspectMax { get; init; } = 4.0 / 3.0;

    /// <summary>Positions per side of the CPE table: MaxResolution / PatchSize.</summary>
    public int MaxGrid => MaxResolution / PatchSize;

    /// <summary>
    /// Register tokens after the summary tokens: NumRegisters when given, otherwise cls_token.py's rule
    /// RegisterMultiple - (NumClsTokens mod RegisterMultiple), which gives a full multiple when NumClsTokens
    /// already is one, and 0 when RegisterMultiple is 0.
    /// </summary>
    public int ResolvedNumRegisters =>
        NumRegisters ?? (RegisterMultiple > 0 ? RegisterMultiple - NumClsTokens % RegisterMultiple : 0);

    /// <summary>Prefix tokens before the patches (summary tokens and registers), the reference's num_skip.</summary>
    public int NumPrefixTokens => NumClsTokens + ResolvedNumRegisters;

    /// <summary>Hidden width of the block MLPs.</summary>
    public int MlpHiddenDim => (int)(EmbedDim * MlpRatio);

    /// <summary>The same blocks as a timm ViT config, for <see cref="Block"/>.</summary>
    public VitConfig ToVitConfig() => new(ImageSize: MaxResolution, PatchSize: PatchSize, InChannels: 3,
        EmbedDim: EmbedDim, Depth: Depth, NumHeads: NumHeads, MlpRatio: MlpRatio, NumClasses: 0);

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (PatchSize <= 0 || EmbedDim <= 0 || Depth <= 0 || NumHeads <= 0 || MlpRatio <= 0 || MaxResolution <= 0)
            throw new ArgumentException($"RadioStudentConfig has a non-positive size: {this}");
        if (NumClsTokens < 0 || NumRegisters < 0 || RegisterMultiple < 0)
            throw new ArgumentException($"RadioStudentConfig has a negative token count: {this}");
        if (MaxResolution % PatchSize != 0)
            throw new ArgumentException($"MaxResolution {MaxResolution} is not a multiple of PatchSize {PatchSize}.");
        if (EmbedDim % NumHeads != 0)
            throw new ArgumentException($"EmbedDim {EmbedDim} is not a multiple of NumHeads {NumHeads}.");
        if (PosDropout is < 0 or > 1)
            throw new ArgumentException($"PosDropout {PosDropout} is outside [0, 1].");
        if (CropScaleMin is <= 0 or > 1 || CropAspectMin <= 0 || CropAspectMax < CropAspectMin)
            throw new ArgumentException(
                $"Bad CPE crop ranges: scale min {CropScaleMin}, aspect [{CropAspectMin}, {CropAspectMax}].");
    }
}
