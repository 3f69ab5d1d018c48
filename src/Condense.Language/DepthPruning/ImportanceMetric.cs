// The importance metrics a pruning order can follow. Every metric is oriented so that a LOW value means
// "prunable": Shapley-type metrics are the negated attribution of a loss-like value (removing an important unit
// raises loss and distance, so its φ is negative and −φ positive), as in the reference code.
using Condense.Core;

namespace Condense.Language.DepthPruning;

/// <summary>Names of the unit importance metrics; a low value always means prunable.</summary>
public static class ImportanceMetric
{
    /// <summary>1 − cos(x, F(x)) (ShortGPT block influence).</summary>
    public const string Cosine = "cosine";

    /// <summary>‖F(x) − x‖₁ / ‖x‖₁.</summary>
    public const string RelativeL1 = "rel-l1";

    /// <summary>‖F(x) − x‖₂ / ‖x‖₂.</summary>
    public const string RelativeL2 = "rel-l2";

    /// <summary>loss without the unit − loss with every unit (leave-one-out ablation).</summary>
    public const string LeaveOneOut = "loo-loss";

    /// <summary>−exact Shapley of the LM loss.</summary>
    public const string LossShapley = "loss-shapley";

    /// <summary>−exact Shapley of the logit distance to the unpruned model.</summary>
    public const string LogitShapley = "logit-shapley";

    /// <summary>−Monte-Carlo permutation Shapley of the LM loss.</summary>
    public const string McLossShapley = "mc-loss-shapley";

    /// <summary>−Monte-Carlo permutation Shapley of the logit distance.</summary>
    public const string McLogitShapley = "mc-logit-shapley";

    /// <summary>−the reference code's random-subset contrast of the LM loss.</summary>
    public const string ContrastLoss = "contrast-loss";

    /// <summary>−the reference code's random-subset contrast of the logit distance.</summary>
    public const string ContrastLogit = "contrast-logit";

    /// <summary>−exact Shapley of the next-token error on quoted speech (task-adaptive, like the paper's MMLU Shapley).</summary>
    public const string DialogueShapley = "dialogue-shapley";

    /// <summary>−exact Shapley of the next-token error on narration.</summary>
    public const string NarrativeShapley = "narrative-shapley";

    /// <summary>Every metric name, in report order.</summary>
    public static readonly string[] All =
    [
        Cosine, RelativeL1, RelativeL2, LeaveOneOut, LossShapley, LogitShapley, McLossShapley, McLogitShapley,
        ContrastLoss, ContrastLogit, DialogueShapley, NarrativeShapley,
    ];

    /// <summary>Metrics that need every coalition (only for at most <see cref="ExactShapley.MaxPlayers"/> units).</summary>
    public static bool NeedsExact(string metric) =>
        metric is LossShapley or LogitShapley or DialogueShapley or NarrativeShapley;

    /// <summary>Throws an <see cref="InputException"/> for an unknown metric name.</summary>
    public static string Parse(string metric) =>
        All.Contains(metric)
            ? metric
            : throw new InputException($"unknown metric '{metric}' (expected one of: {string.Join(", ", All)})");
}
