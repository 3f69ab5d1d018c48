// Teacher loss balancing: how per-teacher losses are combined into the training loss.
// - "equal": Σ L_i (AM-RADIO keeps this "naive" choice, appendix E).
// - "adaloss": Σ L_i / E[L_i], E an exponential moving average of each teacher's loss (momentum 0.99), weights
//   detached (AM-RADIO appendix E; Hu et al., AdaLoss).
// - "uncertainty": Σ e^{−b_i} L_i + softplus(b_i) with a learned b_i per teacher (Kendall et al.'s uncertainty
//   weighting as AM-RADIO appendix E states it).
// PHI-S balancing is not a weighting: it is the feature normalizer (loss.feature_normalizer: phi-s), which makes
// every teacher's normalized targets isotropic with unit variance so plain MSE no longer favours large teachers.
//
// State (EMAs, learned b) lives in module buffers/parameters so it is checkpointed and resumed with the model.
// Deviations: the EMA starts at the first observed loss (no bias correction); b_i starts at 0.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Radio;

/// <summary>Combines per-teacher losses into one (equal, AdaLoss or uncertainty weighting).</summary>
public sealed class TeacherLossBalancer : nn.Module
{
    /// <summary>Plain sum of the teachers' losses (AM-RADIO's default).</summary>
    public const string Equal = "equal";
    /// <summary>AdaLoss: each loss divided by an exponential moving average of itself (weights detached).</summary>
    public const string AdaLoss = "adaloss";
    /// <summary>Uncertainty weighting: e^{−b} L + softplus(b) with a learned b per teacher.</summary>
    public const string Uncertainty = "uncertainty";
    /// <summary>Every valid <see cref="Mode"/>.</summary>
    public static readonly string[] Modes = [Equal, AdaLoss, Uncertainty];

    private readonly Tensor ema;          // (T) AdaLoss: running mean of each teacher's loss
    private readonly Tensor started;      // () AdaLoss: whether ema holds values yet
    private readonly Parameter? log_variance;   // (T) uncertainty: b_i

    /// <summary>A balancer for <paramref name="teachers"/>; an unknown <paramref name="mode"/> is an input error.</summary>
    /// <param name="mode">One of <see cref="Modes"/>.</param>
    /// <param name="teachers">The teacher names, in the order of their state entries.</param>
    /// <param name="momentum">Momentum of AdaLoss's moving average.</param>
    public TeacherLossBalancer(string mode, IReadOnlyList<string> teachers, double momentum = 0.99) : base(nameof(TeacherLossBalancer))
    {
        if (!Modes.Contains(mode)) throw new Condense.Core.InputException($"loss balancing '{mode}': unknown (use {string.Join(", ", Modes)})");
        Mode = mode;
        Names = teachers.ToArray();
        Momentum = momentum;
        ema = torch.zeros(teachers.Count, dtype: ScalarType.Float64);
        started = torch.zeros(Array.Empty<long>(), dtype: ScalarType.Bool);
        if (mode == Uncertainty) log_variance = new Parameter(torch.zeros(teachers.Count));
        RegisterComponents();
    }

    /// <summary>The weighting: one of <see cref="Modes"/>.</summary>
    public string Mode { get; }
    /// <summary>The teachers, in order.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>Momentum of AdaLoss's exponential moving average (0.99 by default).</summary>
    public double Momentum { get; }

    /// <summary>The total loss; <paramref name="weights"/> receives the weight applied to each teacher.</summary>
    public Tensor Combine(IReadOnlyDictionary<string, Tensor> perTeacher, Dictionary<string, double>? weights = null)
    {
        using var scope = torch.NewDisposeScope();
        Tensor total = torch.zeros(Array.Empty<long>());
        if (Mode == AdaLoss && training)
        {
            using var _ = torch.no_grad();
            var current = torch.stack(Names.Select(n => perTeacher[n].detach().to_type(ScalarType.Float64)).ToArray());   // (T)
            if (!started.item<bool>())
            {
                ema.copy_(current);
                started.fill_(true);
            }
            else ema.mul_(Momentum).add_(current, alpha: 1 - Momentum);
        }
        for (int i = 0; i < Names.Count; i++)
        {
            var loss = perTeacher[Names[i]];
            Tensor term = Mode switch
            {
                AdaLoss => loss / Math.Max(ema[i].item<double>(), 1e-12),
                Uncertainty => torch.exp(-log_variance![i]) * loss + nn.functional.softplus(log_variance[i]),
                _ => loss,
            };
            if (weights is not null)
                weights[Names[i]] = Mode switch
                {
                    AdaLoss => 1 / Math.Max(ema[i].item<double>(), 1e-12),
                    Uncertainty => Math.Exp(-log_variance![i].item<float>()),
                    _ => 1.0,
                };
            total = total + term;
        }
        return total.MoveToOuterDisposeScope();
    }
}
