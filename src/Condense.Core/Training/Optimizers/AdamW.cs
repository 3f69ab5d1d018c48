using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Core.Training.Optimizers;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter, 2019), with PyTorch's update order and bias correction:
/// p ← p(1 − lr·wd); m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
/// </summary>
public class AdamW : Optimizer
{
    private readonly Dictionary<string, (Tensor M, Tensor V)> _state = [];

    /// <summary>AdamW over the trainable ones of <paramref name="parameters"/>, with zeroed moment estimates.</summary>
    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : base(parameters, weightDecay)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        foreach (var (name, p) in Parameters)
            _state[name] = (torch.zeros_like(p).DetachFromDisposeScope(), torch.zeros_like(p).DetachFromDisposeScope());
    }

    /// <summary>Decay rate of the first-moment (gradient mean) estimate m.</summary>
    public double Beta1 { get; }

    /// <summary>Decay rate of the second-moment (squared gradient) estimate v.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the update's denominator for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>The live moment estimates (m, v) of the parameter named <paramref name="name"/>.</summary>
    protected (Tensor M, Tensor V) Moments(string name) => _state[name];

    /// <summary>Updates the moment estimates in place (shared with LAMB).</summary>
    protected void UpdateMoments(string name, Tensor grad)
    {
        var (m, v) = _state[name];
        m.mul_(Beta1).add_(grad, alpha: 1 - Beta1);
        v.mul_(Beta2).addcmul_(grad, grad, value: 1 - Beta2);
    }

    /// <inheritdoc />
    protected override void Update(string name, Parameter param, Tensor grad, double weightDecay)
    {
        if (weightDecay != 0) param.mul_(1 - LearningRate * weightDecay);
        UpdateMoments(name, grad);
        var (m, v) = _state[name];
        double bc1 = 1 - Math.Pow(Beta1, StepCount);
        double bc2 = 1 - Math.Pow(Beta2, StepCount);
        var denom = v.sqrt().div_(Math.Sqrt(bc2)).add_(Eps);
        param.addcdiv_(m, denom, value: -LearningRate / bc1);
    }

    /// <summary>
    /// The moment estimates as <c>NAME.exp_avg</c> (m) and <c>NAME.exp_avg_sq</c> (v), PyTorch's names; views of
    /// the live state, do not dispose.
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, (m, v)) in _state)
        {
            dict[$"{name}.exp_avg"] = m;
            dict[$"{name}.exp_avg_sq"] = v;
        }
        return dict;
    }

    /// <summary>
    /// Copies saved moment estimates (named as in <see cref="StateTensors"/>) into the live state and sets
    /// <see cref="Optimizer.StepCount"/>; every parameter's moments must be present with the right shape.
    /// </summary>
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        using var _ = torch.no_grad();
        foreach (var (name, (m, v)) in _state)
        {
            CopyInto(state, $"{name}.exp_avg", m);
            CopyInto(state, $"{name}.exp_avg_sq", v);
        }
        StepCount = stepCount;
    }

    private static void CopyInto(IReadOnlyDictionary<string, Tensor> state, string key, Tensor target)
    {
        if (!state.TryGetValue(key, out var saved))
            throw new InputException($"optimizer state is missing '{key}'");
        if (!saved.shape.SequenceEqual(target.shape))
            throw new InputException($"optimizer state '{key}' has shape [{string.Join(",", saved.shape)}], expected [{string.Join(",", target.shape)}]");
        target.copy_(saved);
    }
}
