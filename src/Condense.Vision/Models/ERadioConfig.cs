// Configurations of E-RADIO, the efficient AM-RADIO student ("AM-RADIO: Agglomerative Vision Foundation Model -
// Reduce All Domains Into One", Ranzinger, Heinrich, Kautz, Molchanov, arXiv:2312.06709, section 5.1 and appendix;
// called FasterViTv2 in the code). Reference: NVlabs/RADIO radio/eradio_model.py: `eradio` =
// fastervit2_large_fullres_ws16 (dim 192, in_dim 64, depths [3, 3, 5, 5], heads [2, 4, 8, 16], windows
// [-, -, [16, 16], 16], sr_ratio [1, 1, [2, 1], 1], YOLOv8 C2f conv stages, conv_base, no qkv bias, no layer scale,
// HiResNeck from stage 2 with 1536 channels) and eradio_xxxtiny (dim 32, in_dim 32, depths [1, 3, 4, 5], neck 256).
//
// Deviations: only the E-RADIO settings used by the released `eradio` family (yolo_arch, conv_base, windowed
// attention in every block, conv_groups_ratio 0, no SwiGLU, no multi-query, no shift). Xt and Micro are not
// released models: Xt is the paper's XT size (dim 64, depths [1, 3, 4, 5]) with the eradio settings and a
// 512-channel neck, sized near FasterViT-0 for the backbone benchmark; Micro is a tiny model for CPU tests and
// distillation. The ImageNet head is off by default (NumClasses 0): E-RADIO is used as a feature backbone.
namespace Condense.Vision.Models;

/// <summary>Hyper-parameters of <see cref="ERadio"/>; names follow the reference's constructor.</summary>
public sealed record ERadioConfig(
    int Dim,
    int InDim,
    int[] Depths,
    int[] NumHeads,
    int WindowSize = 16,
    int NeckDim = 1536,
    int NeckStartStage = 2,
    int CpbMlpHidden = 512,
    int NumClasses = 0,
    double MlpRatio = 4,
    bool QkvBias = false,
    double? LayerScale = null,
    int InChannels = 3)
{
    /// <summary>Subsampling ratio of each attention block in stage 3 (multi-resolution attention) and stage 4.</summary>
    public static IReadOnlyList<int> SrRatio(int stage) => stage == 2 ? [2, 1] : [1];

    /// <summary>Channels of stage i: Dim * 2^i.</summary>
    public int StageDim(int i) => Dim << i;

    /// <summary>Channels of the last stage (the summary width).</summary>
    public int NumFeatures => Dim * 8;

    /// <summary>The released eradio (fastervit2_large_fullres_ws16): dim 192, depths [3, 3, 5, 5], 1536-channel neck.</summary>
    public static ERadioConfig Large { get; } = new(192, 64, [3, 3, 5, 5], [2, 4, 8, 16]);
    /// <summary>The released eradio_xxxtiny: dim 32, depths [1, 3, 4, 5], 256-channel neck.</summary>
    public static ERadioConfig XxxTiny { get; } = new(32, 32, [1, 3, 4, 5], [2, 4, 8, 16], NeckDim: 256);
    /// <summary>Not a released model: the paper's XT size (dim 64, depths [1, 3, 4, 5]) with a 512-channel neck, near FasterViT-0 in size.</summary>
    public static ERadioConfig Xt { get; } = new(64, 64, [1, 3, 4, 5], [2, 4, 8, 16], NeckDim: 512);
    /// <summary>Not a reference model: a tiny configuration (dim 16, 128-channel neck) for CPU tests and distillation.</summary>
    public static ERadioConfig Micro { get; } = new(16, 16, [1, 1, 2, 1], [1, 2, 4, 8], NeckDim: 128, CpbMlpHidden: 64);

    /// <summary>
    /// The reference's set_optimal_window_size rule: the largest divisor of imageSide / 32 that is at most
    /// <paramref name="maxWindow"/> (224 -> 7, 256 -> 8, 512 -> 16, 1024 -> 16); 1 below 32 px.
    /// </summary>
    public static int OptimalWindowSize(int imageSide, int maxWindow = 16)
    {
        int n = imageSide / 32;
        if (n < 1) return 1;
        return Enumerable.Range(1, Math.Min(n, maxWindow)).Where(d => n % d == 0).Max();
    }

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit together.</summary>
    public void Validate()
    {
        if (Depths.Length != 4 || NumHeads.Length != 4)
            throw new ArgumentException($"E-RADIO needs 4 stages (depths, heads): {this}");
        if (Dim <= 0 || Dim % 2 != 0 || InDim <= 0 || WindowSize <= 0 || NeckDim <= 0 || CpbMlpHidden <= 0 || NumClasses < 0
            || NeckStartStage is < 0 or > 3 || Depths.Any(d => d < 0) || NumHeads.Any(h => h <= 0))
            throw new ArgumentException($"ERadioConfig has a bad size: {this}");
        for (int i = 2; i < 4; i++)
            if (StageDim(i) % NumHeads[i] != 0)
                throw new ArgumentException($"stage {i} width {StageDim(i)} is not a multiple of its {NumHeads[i]} heads");
    }

    /// <summary>Trainable parameters of the model this config builds, without building it.</summary>
    public long ParameterCount()
    {
        long n = (long)InChannels * InDim * 9 + 2 * InDim + (long)InDim * Dim * 9 + 2 * Dim;   // stem: 2 Conv2d_BN
        for (int i = 0; i < 4; i++)
        {
            long d = StageDim(i);
            if (i < 2)
            {
                long c = d / 2, m = Depths[i];
                n += d * 2 * c + 4 * c + (2 + m) * c * d + 2 * d + m * 2 * (9 * c * c + 2 * c);      // C2f
            }
            else
            {
                long attn = 4 * d * d + (QkvBias ? 3 * d : 0) + 3L * CpbMlpHidden + (long)CpbMlpHidden * NumHeads[i];
                long mlp = 2 * d * (long)(d * MlpRatio);
                foreach (int sr in SrRatio(i))
                {
                    long block = 4 * d + attn + mlp + (LayerScale is null ? 0 : 2 * d);
                    block += sr > 1 ? 2 * (d * d * sr * sr + d) : 9 * d * d + 2 * d;                  // conv down/up, or pre_conv
                    n += Depths[i] * block;
                }
            }
            if (i < 3) n += 18 * d * d + 4 * d;                                                      // Downsample Conv2d_BN
        }
        int ratio = 1;
        for (int i = NeckStartStage; i < 4; i++)
        {
            long d = StageDim(i);
            if (ratio > 1 || NeckDim != d) n += 9 * d + d + 2 * d + d * NeckDim + NeckDim;          // neck projection
            if (i > 0) ratio *= 2;
        }
        n += 2L * NumFeatures + (NumClasses > 0 ? (long)NumFeatures * NumClasses + NumClasses : 0);
        return n;
    }
}
