// MaskLLM's learnable 2:4 masks (Fang et al., "MaskLLM: Learnable Semi-Structured Sparsity for Large Language
// Models", arXiv:2409.17481; reference NVlabs/MaskLLM, `DifferentiableMask`): every group of 4 input weights of
// a pruned Linear has a logit vector `gate` over the 6 candidate masks, initialised N(0, 0.01). Training samples
// a soft choice y = gumbel_softmax(κ · gate, τ) and uses the mask M̃ = y @ candidates (the authors found soft
// masks train better than straight-through hard ones); export takes the argmax candidate, without noise.
// A one-shot mask M₀ is injected as a prior: gate_i += (⟨candidate_i, M₀⟩ − 1) · std(gate) · strength, so the
// prior candidate gains strength·σ, half-overlapping ones stay, and the disjoint one loses strength·σ
// (`init_diff_mask_from_prior`).
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>One logit parameter (groups, 6) per pruned linear; its parameters are the only trained tensors.</summary>
public sealed class MaskGates : nn.Module
{
    private readonly List<(string Linear, string Param, long[] Shape)> _entries = [];
    private readonly Tensor _candidates;

    /// <summary>Gates for the weights in <paramref name="linears"/> (name and shape each), initialised N(0, <paramref name="initStd"/>).</summary>
    public MaskGates(IReadOnlyList<(string Name, long[] Shape)> linears, double initStd = 0.01) : base(nameof(MaskGates))
    {
        _candidates = TwoFour.CandidateTensor();
        foreach (var (name, shape) in linears)
        {
            var param = name.Replace('.', '_');
            var gate = new Parameter(normal(0, initStd, [shape[0] * shape[1] / TwoFour.M, TwoFour.CandidateCount]));
            register_parameter(param, gate);
            _entries.Add((name, param, shape));
        }
    }

    /// <summary>The gated linears' module names, in order.</summary>
    public IEnumerable<string> Linears => _entries.Select(e => e.Linear);

    /// <summary>The logits (groups, 6) of the linear named <paramref name="linear"/>.</summary>
    public Parameter Gate(string linear) =>
        get_parameter(_entries.First(e => e.Linear == linear).Param)
        ?? throw new KeyNotFoundException(linear);

    /// <summary>Adds the prior of one-shot masks (float 0/1, weight-shaped, by linear name) with the given strength.</summary>
    public void InjectPrior(IReadOnlyDictionary<string, Tensor> priorMasks, double strength)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (linear, _, shape) in _entries)
        {
            if (!priorMasks.TryGetValue(linear, out var prior))
                throw new ArgumentException($"the prior has no mask for {linear}");
            if (!prior.shape.SequenceEqual(shape))
                throw new ArgumentException($"the prior mask of {linear} has shape [{string.Join(", ", prior.shape)}], expected [{string.Join(", ", shape)}]");
            var gate = Gate(linear);
            var overlap = prior.reshape(-1, TwoFour.M).to_type(ScalarType.Float32).matmul(_candidates.t()); // (G, 6) in {0,1,2}
            gate.add_((overlap - 1) * (gate.std().item<float>() * strength));
        }
    }

    /// <summary>Soft masks (weight-shaped, differentiable in the gates) sampled with logit scale κ and temperature τ.</summary>
    public Dictionary<string, Tensor> SoftMasks(double scale, double tau) =>
        _entries.ToDictionary(e => e.Linear, e =>
        {
            var y = GumbelSoftmax.Sample(Gate(e.Linear) * scale, tau);          // (G, 6)
            return y.matmul(_candidates).view(e.Shape);                         // (out, in)
        });

    /// <summary>Hard masks (weight-shaped, float 0/1): the argmax candidate of every group.</summary>
    public Dictionary<string, Tensor> HardMasks()
    {
        using var noGrad = no_grad();
        return _entries.ToDictionary(e => e.Linear, e => TwoFour.FromIndices(Gate(e.Linear).argmax(-1), e.Shape));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _candidates.Dispose();
        base.Dispose(disposing);
    }
}
