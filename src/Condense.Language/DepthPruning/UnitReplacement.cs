// What stands in for a removed unit, the two "lightweight recovery" techniques of Siddiqui et al. (2024):
//  * MeanUpdateBias: the unit's update u = F(x) − x replaced by its mean over calibration tokens, x ↦ x + b
//    (closed form, one pass, no training);
//  * LowRankAdapter: x ↦ x + B A x + c with A (r, C), B (C, r), trained by MSE to reproduce u.
// Deviation: the adapter has the bias c (started at the mean update, with B = 0), so training starts from the
// mean-bias solution and can only lower the calibration MSE; the paper's adapter may have had no bias.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.DepthPruning;

/// <summary>A module that returns the update (B, T, C) to add to the residual stream x (B, T, C).</summary>
public abstract class UnitReplacement : Module<Tensor, Tensor>
{
    /// <summary>A replacement module named <paramref name="name"/>.</summary>
    protected UnitReplacement(string name) : base(name) { }

    /// <summary>
    /// Takes the parameters out of any enclosing dispose scope: replacements are built inside per-unit scopes and
    /// must outlive them (tensors made in a scope, parameters included, die with it).
    /// </summary>
    protected void DetachFromDisposeScopes()
    {
        foreach (var p in parameters()) p.DetachFromDisposeScope();
    }

    /// <summary>Recovery kind as written in checkpoints and reports.</summary>
    public abstract string Kind { get; }
}

/// <summary>A constant update b (C): the removed unit's mean update over calibration tokens.</summary>
public sealed class MeanUpdateBias : UnitReplacement
{
    private readonly Parameter bias;

    /// <summary>A constant update equal to <paramref name="meanUpdate"/> (C), copied.</summary>
    public MeanUpdateBias(Tensor meanUpdate) : base(nameof(MeanUpdateBias))
    {
        ArgumentNullException.ThrowIfNull(meanUpdate);
        bias = Parameter(meanUpdate.detach().clone(), requires_grad: false);
        RegisterComponents();
        DetachFromDisposeScopes();
    }

    /// <inheritdoc />
    public override string Kind => "mean-bias";

    /// <summary>The constant update (C).</summary>
    public Tensor Bias => bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => bias.to_type(x.dtype).expand_as(x);
}

/// <summary>u(x) ≈ B A x + c with rank r.</summary>
public sealed class LowRankAdapter : UnitReplacement
{
    private readonly Linear down;
    private readonly Linear up;

    /// <summary>An adapter on <paramref name="dim"/> channels of rank <paramref name="rank"/>; B starts at 0, so the update starts as the bias c.</summary>
    public LowRankAdapter(int dim, int rank) : base(nameof(LowRankAdapter))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        down = Linear(dim, rank, hasBias: false);
        up = Linear(rank, dim, hasBias: true);
        RegisterComponents();
        DetachFromDisposeScopes();
        using var noGrad = no_grad();
        init.zeros_(up.weight!);
    }

    /// <inheritdoc />
    public override string Kind => "adapter";

    /// <summary>The adapter's rank.</summary>
    public long Rank => down.weight!.shape[0];

    /// <summary>Sets the bias c (e.g. to the mean update, the adapter's starting point).</summary>
    public void SetBias(Tensor bias)
    {
        using var noGrad = no_grad();
        up.bias!.copy_(bias);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => up.call(down.call(x));   // (B, T, C)
}
