// Flextron's static routers (Cai et al., ICML 2024, section 3.2): one small MLP per elastic sub-layer (the attention
// and the MLP of every decoder layer) that maps an encoding of the latency target to logits over that sub-layer's
// candidate widths. At inference the argmax of each router gives the sub-network for a budget; in training a
// Gumbel-softmax sample of the logits gives a differentiable mixture, whose expected latency under the lookup table
// drives the latency loss.
//
// The budget b (a fraction of the full model's latency) is encoded as [b, b², 1 − b]: smooth features, so budgets
// between the trained ones get sensible widths. Condense's choice; the paper does not give its encoding.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Elastic;

/// <summary>Per-layer routers for the attention and MLP widths of an elastic model.</summary>
public sealed class StaticRouters : Module<Tensor, (Tensor Attention, Tensor Mlp)>
{
    private readonly ModuleList<Sequential> attention;
    private readonly ModuleList<Sequential> mlp;

    /// <summary>Routers for <paramref name="layers"/> layers over <paramref name="headChoices"/> and <paramref name="mlpChoices"/> candidates.</summary>
    public StaticRouters(int layers, int headChoices, int mlpChoices, int hidden = 32) : base(nameof(StaticRouters))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        static Sequential Router(int outputs, int hidden) => Sequential(Linear(Features, hidden), ReLU(), Linear(hidden, outputs));
        attention = new ModuleList<Sequential>(Enumerable.Range(0, layers).Select(_ => Router(headChoices, hidden)).ToArray());
        mlp = new ModuleList<Sequential>(Enumerable.Range(0, layers).Select(_ => Router(mlpChoices, hidden)).ToArray());
        RegisterComponents();
    }

    /// <summary>Features of a budget encoding.</summary>
    public const int Features = 3;

    /// <summary>[b, b², 1 − b] for each budget (N) → (N, 3).</summary>
    public static Tensor Encode(Tensor budgets)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        var b = budgets.to_type(ScalarType.Float32).reshape(-1, 1);
        return cat([b, b * b, 1 - b], 1);
    }

    /// <summary>Logits (N, layers, choices) of the attention and MLP routers for budgets (N).</summary>
    public override (Tensor Attention, Tensor Mlp) forward(Tensor budgets)
    {
        using var scope = NewDisposeScope();
        var x = Encode(budgets);                                                     // (N, 3)
        var a = stack(attention.Select(r => r.call(x)).ToArray(), 1);                 // (N, L, Ka)
        var m = stack(mlp.Select(r => r.call(x)).ToArray(), 1);                       // (N, L, Km)
        return (a.MoveToOuterDisposeScope(), m.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The widths the routers pick for <paramref name="budget"/> (argmax per sub-layer); <paramref name="headUnits"/> are
    /// the attention candidates (<see cref="ElasticCandidates.AttentionUnits"/>), <paramref name="mlpUnits"/> the MLP ones.
    /// </summary>
    public ElasticWidths Route(double budget, LayerWidth[] headUnits, int[] mlpUnits)
    {
        ArgumentNullException.ThrowIfNull(headUnits);
        ArgumentNullException.ThrowIfNull(mlpUnits);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (a, m) = forward(tensor(new[] { (float)budget }));
        var ai = a[0].argmax(-1).data<long>().ToArray();
        var mi = m[0].argmax(-1).data<long>().ToArray();
        return new ElasticWidths(ai.Zip(mi, (h, k) => headUnits[h] with { MlpNeurons = mlpUnits[k] }).ToArray());
    }
}
