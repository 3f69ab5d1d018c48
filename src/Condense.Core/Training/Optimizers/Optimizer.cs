using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Core.Training.Optimizers;

/// <summary>
/// Base of Condense's optimizers. We own the optimizer state (rather than using TorchSharp's built-in ones) so it
/// can be written into a safetensors checkpoint under stable names and restored bit-exactly on resume.
/// Weight decay follows timm: only tensors with 2+ dimensions decay (not biases or norm gains).
/// </summary>
public abstract class Optimizer
{
    /// <summary>
    /// Keeps the parameters that require gradients, in the given order; throws <see cref="InputException"/> when
    /// there are none.
    /// </summary>
    protected Optimizer(IEnumerable<(string Name, Parameter Param)> parameters, double weightDecay)
    {
        Parameters = parameters.Where(p => p.Param.requires_grad).ToList();
        if (Parameters.Count == 0) throw new InputException("optimizer: the model has no trainable parameters");
        WeightDecay = weightDecay;
    }

    /// <summary>The trainable parameters, with their state-dict names.</summary>
    public IReadOnlyList<(string Name, Parameter Param)> Parameters { get; }

    /// <summary>The rate for the next <see cref="Step"/>; the trainer sets it from the schedule.</summary>
    public double LearningRate { get; set; }

    /// <summary>Decoupled weight decay, applied only to parameters with 2 or more dimensions.</summary>
    public double WeightDecay { get; }

    /// <summary>Number of optimizer steps taken (Adam's bias correction depends on it).</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the current gradients; parameters without a gradient are skipped.</summary>
    public void Step()
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        StepCount++;
        foreach (var (name, param) in Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            bool decays = param.dim() >= 2;
            Update(name, param, grad, decays ? WeightDecay : 0.0);
        }
    }

    /// <summary>Drops the gradients (set to none, as PyTorch's default).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, param) in Parameters)
        {
            var g = param.grad;
            if (g is null) continue;
            param.grad = null;
            g.Dispose();
        }
    }

    /// <summary>Updates one parameter in place, under no_grad.</summary>
    protected abstract void Update(string name, Parameter param, Tensor grad, double weightDecay);

    /// <summary>The optimizer's state tensors by name (views of the live state; do not dispose).</summary>
    public abstract IReadOnlyDictionary<string, Tensor> StateTensors();

    /// <summary>Copies saved state back; every parameter's state must be present with the right shape.</summary>
    public abstract void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount);
}
