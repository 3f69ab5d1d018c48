// Configurations of FasterViT ("FasterViT: Fast Vision Transformers with Hierarchical Attention", Hatamizadeh et
// al., arXiv:2306.06189, ICLR 2024). Reference: NVlabs/FasterViT fastervit/models/faster_vit.py
// (faster_vit_{0..6}_224: dims, depths, heads, window 7, ct_size 2, hat [F, F, T, F], layer scale 1e-5 and carrier
// token propagation for -3 and up).
//
// Parameter counts with the ImageNet-1k head, from ParameterCount (checked against instantiated models in the
// tests): -0 31,404,840; -1 53,366,696; -2 75,923,816; -3 159,547,944; -4 365,555,712; -5 957,520,552;
// -6 1,360,328,872. These equal the README table (31.4M, 53.4M, 75.9M, 159.5M, 1360M) except for -4 and -5, where
// the README says 424.6M and 975.5M: the reference code's own -4/-5 configurations (dim 196 / 320, depths
// [3, 3, 12, 5], heads [4, 8, 16, 32]) give 365.6M and 957.5M; this port follows the code, so a converted
// checkpoint loads.
//
// Deviations: ct_size means carrier tokens per window side as in faster_vit.py (faster_vit_any_res.py uses
// 2^ct_size). Micro is not a reference model: a tiny configuration for CPU tests and distillation.
namespace Condense.Vision.Models;

/// <summary>Hyper-parameters of <see cref="FasterViT"/>; names follow the reference's constructor.</summary>
public sealed record FasterViTConfig(
    int Dim,
    int InDim,
    int[] Depths,
    int[] NumHeads,
    int[] WindowSize,
    int CtSize = 2,
    double MlpRatio = 4,
    double? LayerScale = null,
    bool[]? Hat = null,
    bool DoPropagation = false,
    int Resolution = 224,
    int NumClasses = 1000,
    int InChannels = 3,
    bool QkvBias = true)
{
    /// <summary>Which stages use hierarchical attention (carrier tokens); the reference default [F, F, T, F].</summary>
    public bool[] HatStages => Hat ?? [false, false, true, false];

    /// <summary>Channels of the last stage: Dim * 2^3.</summary>
    public int NumFeatures => Dim * 8;

    /// <summary>Channels of stage <paramref name="i"/>: Dim * 2^i.</summary>
    public int StageDim(int i) => Dim << i;

    /// <summary>Feature-map side of stage <paramref name="i"/> at construction, padded to a multiple of its window.</summary>
    public int PaddedStageResolution(int i)
    {
        int r = (int)(Resolution * Math.Pow(2, -2 - i)), k = WindowSize[i];
        return r + (k - r % k) % k;
    }

    /// <summary>Whether stage i (a transformer stage) is built with carrier tokens: hat[i] and more than one window.</summary>
    public bool StageHasCarriers(int i) => i >= 2 && HatStages[i] && PaddedStageResolution(i) / WindowSize[i] > 1;

    /// <summary>faster_vit_0_224: dim 64, depths [2, 3, 6, 5]; 31.4M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V0 { get; } = new(64, 64, [2, 3, 6, 5], [2, 4, 8, 16], [7, 7, 7, 7]);
    /// <summary>faster_vit_1_224: dim 80, depths [1, 3, 8, 5]; 53.4M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V1 { get; } = new(80, 32, [1, 3, 8, 5], [2, 4, 8, 16], [7, 7, 7, 7]);
    /// <summary>faster_vit_2_224: dim 96, depths [3, 3, 8, 5]; 75.9M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V2 { get; } = new(96, 64, [3, 3, 8, 5], [2, 4, 8, 16], [7, 7, 7, 7]);
    /// <summary>faster_vit_3_224: dim 128, depths [3, 3, 12, 5], layer scale and carrier-token propagation; 159.5M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V3 { get; } = new(128, 64, [3, 3, 12, 5], [2, 4, 8, 16], [7, 7, 7, 7], LayerScale: 1e-5, DoPropagation: true);
    /// <summary>faster_vit_4_224 as in the reference code: dim 196, depths [3, 3, 12, 5]; 365.6M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V4 { get; } = new(196, 64, [3, 3, 12, 5], [4, 8, 16, 32], [7, 7, 7, 7], LayerScale: 1e-5, DoPropagation: true);
    /// <summary>faster_vit_5_224 as in the reference code: dim 320, depths [3, 3, 12, 5]; 957.5M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V5 { get; } = new(320, 64, [3, 3, 12, 5], [4, 8, 16, 32], [7, 7, 7, 7], LayerScale: 1e-5, DoPropagation: true);
    /// <summary>faster_vit_6_224: dim 320, depths [3, 3, 16, 8]; 1,360M parameters with the ImageNet-1k head.</summary>
    public static FasterViTConfig V6 { get; } = new(320, 64, [3, 3, 16, 8], [4, 8, 16, 32], [7, 7, 7, 7], LayerScale: 1e-5, DoPropagation: true);

    /// <summary>Not a reference model: 16 wide, windows of 2 for 64-px inputs (stage 3 sees 4 x 4 = 2 x 2 windows,
    /// so it has carrier tokens), with propagation; for CPU tests and distillation.</summary>
    public static FasterViTConfig Micro { get; } = new(16, 16, [1, 1, 2, 1], [1, 2, 4, 8], [2, 2, 2, 2], CtSize: 1,
        DoPropagation: true, Resolution: 64, NumClasses: 0);

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (Depths.Length != 4 || NumHeads.Length != 4 || WindowSize.Length != 4 || HatStages.Length != 4)
            throw new ArgumentException($"FasterViT needs 4 stages (depths, heads, windows, hat): {this}");
        if (Dim <= 0 || InDim <= 0 || CtSize <= 0 || MlpRatio <= 0 || Resolution <= 0 || NumClasses < 0 || InChannels <= 0
            || Depths.Any(d => d < 0) || NumHeads.Any(h => h <= 0) || WindowSize.Any(w => w <= 0))
            throw new ArgumentException($"FasterViTConfig has a non-positive size: {this}");
        for (int i = 2; i < 4; i++)
            if (StageDim(i) % NumHeads[i] != 0)
                throw new ArgumentException($"stage {i} width {StageDim(i)} is not a multiple of its {NumHeads[i]} heads");
    }

    /// <summary>Trainable parameters of the model this config builds, without building it.</summary>
    public long ParameterCount()
    {
        long n = (long)InChannels * InDim * 9 + 2 * InDim + (long)InDim * Dim * 9 + 2 * Dim;    // stem (convs without bias, BNs)
        for (int i = 0; i < 4; i++)
        {
            long d = StageDim(i), h = (long)(d * MlpRatio);
            if (i < 2)
                n += Depths[i] * (2 * (d * d * 9 + d) + 4 * d);                                  // ConvBlock
            else
            {
                long attn = 4 * d * d + (QkvBias ? 3 * d : 0) + d + 3 * 512 + 512L * NumHeads[i];
                long mlp = 2 * d * h + h + d;
                long ls = LayerScale is null ? 0 : 2 * d;
                long block = (3 * 512 + 512 * d) + 4 * d + attn + mlp + ls;                       // pos_embed, norms, attn, mlp
                bool hat = StageHasCarriers(i);
                if (hat) block += 4 * d + attn + mlp + (3 * 512 + 512 * d) + ls;                // hat_* and gamma1/2
                n += Depths[i] * block;
                if (hat) n += d * 9 + d;                                                          // global_tokenizer
            }
            if (i < 3) n += 2 * d + d * 2 * d * 9;                                                // Downsample
        }
        n += 2L * NumFeatures + (NumClasses > 0 ? (long)NumFeatures * NumClasses + NumClasses : 0);
        return n;
    }
}
