// The AM-RADIO distillation loss (arXiv:2312.06709, section 3.4):
//   L_summary  = sum_i lambda_i * (1 - cos(y_i, z_i))                     per sample, mean over the batch
//   L_features = sum_i gamma_i * (0.9 * (1 - cos) + 0.1 * SmoothL1)       cos over channels per spatial position,
//                                                                          after bringing both maps to one grid
//   L = L_summary + L_features
// Reference: the public NVlabs/RADIO repository has no training loss; the formula is the paper's. NVIDIA's TAO port
// (BalancedFeatureLoss) uses SmoothL1 with beta = 2.0; the paper does not state beta. Notes:
// /work/shared/research/radio.md, section 2.1.
//
// Deviations:
// - SmoothL1's beta defaults to 1.0 (PyTorch's default), configurable; the paper is silent and TAO uses 2.0.
// - SmoothL1 is averaged over every element (batch, channels, positions), the cosine term over positions.
// - A teacher weight of 0 skips that term entirely (it is not computed, and absent from the breakdown).
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Radio;

/// <summary>Loss weights of one teacher: lambda for the summary term, gamma for the feature term.</summary>
public sealed record TeacherLossWeights(double Summary = 1, double Feature = 1);

/// <summary>The loss of one batch, with its parts for logging (all scalars).</summary>
/// <param name="Total">Sum of every weighted term.</param>
/// <param name="PerTeacher">Per teacher: lambda * summary loss + gamma * feature loss.</param>
/// <param name="Summary">Per teacher with a summary term: the unweighted 1 - cos.</param>
/// <param name="Features">Per teacher with a feature term: the unweighted 0.9 cos + 0.1 SmoothL1 mix.</param>
public sealed record DistillationLossResult(Tensor Total, IReadOnlyDictionary<string, Tensor> PerTeacher,
    IReadOnlyDictionary<string, Tensor> Summary, IReadOnlyDictionary<string, Tensor> Features);

/// <summary>AM-RADIO's summary (cosine) and feature (cosine + SmoothL1) losses over all teachers.</summary>
public sealed class DistillationLoss
{
    private readonly IReadOnlyDictionary<string, TeacherLossWeights> weights;

    /// <param name="weights">Per teacher name; teachers not listed get weight 1 for both terms.</param>
    /// <param name="gridMode">How feature maps are brought to one grid.</param>
    /// <param name="cosineWeight">alpha of the feature loss (0.9 in the paper).</param>
    /// <param name="smoothL1Weight">beta of the feature loss (0.1 in the paper).</param>
    /// <param name="smoothL1Beta">SmoothL1's transition point (1.0 as PyTorch; TAO uses 2.0).</param>
    /// <param name="alignCorners">Bilinear grid matching with align_corners (true as TAO).</param>
    public DistillationLoss(IReadOnlyDictionary<string, TeacherLossWeights>? weights = null,
        GridMatchMode gridMode = GridMatchMode.Larger, double cosineWeight = 0.9, double smoothL1Weight = 0.1,
        double smoothL1Beta = 1.0, bool alignCorners = true, Normalization.TeacherNormalizers? featureNormalizers = null,
        TeacherLossBalancer? balancer = null, bool mseDistance = false)
    {
        MseDistance = mseDistance;
        FeatureNormalizers = featureNormalizers;
        Balancer = balancer;
        if (smoothL1Beta <= 0) throw new ArgumentException($"SmoothL1 beta must be positive, got {smoothL1Beta}.");
        this.weights = weights ?? new Dictionary<string, TeacherLossWeights>();
        GridMode = gridMode;
        CosineWeight = cosineWeight;
        SmoothL1Weight = smoothL1Weight;
        SmoothL1Beta = smoothL1Beta;
        AlignCorners = alignCorners;
    }

    /// <summary>How feature maps are brought to one grid.</summary>
    public GridMatchMode GridMode { get; }
    /// <summary>α: weight of the cosine term of the feature loss.</summary>
    public double CosineWeight { get; }
    /// <summary>β: weight of the SmoothL1 (or MSE) term of the feature loss.</summary>
    public double SmoothL1Weight { get; }
    /// <summary>SmoothL1's transition point: the error below which it is quadratic.</summary>
    public double SmoothL1Beta { get; }
    /// <summary>Whether the bilinear grid matching uses align_corners.</summary>
    public bool AlignCorners { get; }

    /// <summary>
    /// When set, feature targets of the teachers it covers are normalized (PHI-S and co.) and the feature loss is
    /// the MSE in normalized space (PHI-S, section 2), instead of the cosine + SmoothL1 mix on raw targets.
    /// </summary>
    public Normalization.TeacherNormalizers? FeatureNormalizers { get; }

    /// <summary>Use MSE instead of SmoothL1 as the magnitude term of the hybrid feature loss (PHI-S "Hyb-MSE").</summary>
    public bool MseDistance { get; }

    /// <summary>Combines the per-teacher losses (AdaLoss, uncertainty weighting); null for the plain sum.</summary>
    public TeacherLossBalancer? Balancer { get; }

    /// <summary>The weights used for a teacher.</summary>
    public TeacherLossWeights WeightsOf(string teacher) =>
        weights.TryGetValue(teacher, out var w) ? w : new TeacherLossWeights();

    /// <summary>1 - cosine similarity along <paramref name="dim"/>, averaged over the rest: a scalar.</summary>
    public static Tensor CosineLoss(Tensor prediction, Tensor target, long dim = -1)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = NewDisposeScope();
        var cos = nn.functional.cosine_similarity(prediction, target, dim: dim);   // shape without dim
        return (1 - cos).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Summary loss: (B, Cs) prediction and target, mean over the batch of 1 - cos.</summary>
    public static Tensor SummaryLoss(Tensor prediction, Tensor target)
    {
        CheckSameShape(prediction, target, "summary");
        return CosineLoss(prediction, target, dim: 1);
    }

    /// <summary>
    /// Feature loss of one teacher: prediction (B, Cf, hs, ws) and target (B, Cf, ht, wt) are brought to one grid,
    /// then alpha * mean(1 - cos over channels) + beta * SmoothL1(mean over elements).
    /// </summary>
    public Tensor FeatureLoss(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.dim() != 4 || target.dim() != 4 || prediction.shape[0] != target.shape[0]
            || prediction.shape[1] != target.shape[1])
            throw new ArgumentException(
                $"Feature maps do not fit: prediction ({string.Join(", ", prediction.shape)}), "
                + $"target ({string.Join(", ", target.shape)}).");
        using var scope = NewDisposeScope();
        var (p, t) = GridMatching.Match(prediction, target, GridMode, AlignCorners);   // (B, Cf, H, W) each
        var cos = CosineLoss(p, t, dim: 1);
        var smooth = MseDistance
            ? nn.functional.mse_loss(p, t)
            : nn.functional.smooth_l1_loss(p, t, reduction: nn.Reduction.Mean, beta: SmoothL1Beta);
        return (CosineWeight * cos + SmoothL1Weight * smooth).MoveToOuterDisposeScope();
    }

    /// <summary>MSE between the prediction and the normalized target, on the matched grid.</summary>
    public Tensor NormalizedFeatureLoss(Normalization.TeacherNormalizers normalizers, string teacher, Tensor prediction, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (p, t) = GridMatching.Match(prediction, target, GridMode, AlignCorners);   // (B, Cf, H, W) each
        return nn.functional.mse_loss(p, normalizers.Normalize(teacher, t).detach()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The total loss of a batch: for every teacher in <paramref name="output"/>, its summary term (when the
    /// adaptor predicts one and lambda is not 0) and its feature term (when predicted and gamma is not 0) against
    /// <paramref name="targets"/>, the teachers' outputs by name.
    /// </summary>
    public DistillationLossResult Compute(DistillOutput output, IReadOnlyDictionary<string, TeacherOutput> targets)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var perTeacher = new Dictionary<string, Tensor>();
        var summaries = new Dictionary<string, Tensor>();
        var features = new Dictionary<string, Tensor>();
        Tensor total = zeros(Array.Empty<long>());
        foreach (var (name, prediction) in output.Teachers)
        {
            if (!targets.TryGetValue(name, out var target))
                throw new ArgumentException($"No teacher output for '{name}'.");
            var w = WeightsOf(name);
            Tensor teacherLoss = zeros(Array.Empty<long>());
            if (prediction.Summary is not null && w.Summary != 0)
            {
                var s = SummaryLoss(prediction.Summary,
                    target.Summary ?? throw new ArgumentException($"Teacher '{name}' gave no summary."));
                summaries[name] = s.MoveToOuterDisposeScope();
                teacherLoss = teacherLoss + w.Summary * s;
            }
            if (prediction.Features is not null && w.Feature != 0)
            {
                var t = target.Features ?? throw new ArgumentException($"Teacher '{name}' gave no features.");
                var f = FeatureNormalizers is { } n && n.Teachers.Contains(name)
                    ? NormalizedFeatureLoss(n, name, prediction.Features, t)
                    : FeatureLoss(prediction.Features, t);
                features[name] = f.MoveToOuterDisposeScope();
                teacherLoss = teacherLoss + w.Feature * f;
            }
            perTeacher[name] = teacherLoss.MoveToOuterDisposeScope();
            total = total + teacherLoss;
        }
        if (Balancer is not null && Balancer.Mode != TeacherLossBalancer.Equal) total = Balancer.Combine(perTeacher);
        return new DistillationLossResult(total.MoveToOuterDisposeScope(), perTeacher, summaries, features);
    }

    private static void CheckSameShape(Tensor prediction, Tensor target, string what)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!prediction.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"The {what} prediction ({string.Join(", ", prediction.shape)}) and "
                + $"target ({string.Join(", ", target.shape)}) differ in shape.");
    }
}
