// Flextron's dynamic (input-adaptive) routers (Cai et al., ICML 2024, section 3.2), for the MLPs: per layer, a small
// MLP reads each token's hidden state (the MLP's normalised input) and the budget encoding and picks that token's MLP
// width from the candidates. Attention keeps the width of its static router: a per-token attention width would give
// each token a different KV cache shape.
//
// Training (routers only; the model is frozen): with nested widths a Gumbel-softmax mixture over widths is one pass
// with a soft per-token neuron mask, m_t[j] = Σ_{k : width_k > j} y_tk (the probability that neuron j is kept for
// token t), so down(h ⊙ m) is exactly Σ_k y_k · MLP_k(x). The latency loss uses each token's expected MLP latency.
//
// Inference: tokens are grouped by their chosen width and each group runs a dense MLP of that width on its rows
// (gather, smaller matmuls, scatter back), so a token routed to 25% really costs a quarter of the MLP's matmuls.
// Masking (the full MLP with the dropped neurons zeroed) computes the same values at full cost; both are measured.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Elastic;

/// <summary>Per-layer, per-token MLP width routers.</summary>
public sealed class DynamicMlpRouters : Module<Tensor, Tensor, int, Tensor>
{
    private readonly ModuleList<Sequential> routers;

    /// <summary>Routers for <paramref name="layers"/> layers of width <paramref name="dim"/> over <paramref name="choices"/> MLP widths.</summary>
    public DynamicMlpRouters(int layers, int dim, int choices, int hidden = 32) : base(nameof(DynamicMlpRouters))
    {
        routers = new ModuleList<Sequential>(Enumerable.Range(0, layers)
            .Select(_ => Sequential(Linear(dim + StaticRouters.Features, hidden), ReLU(), Linear(hidden, choices))).ToArray());
        RegisterComponents();
    }

    /// <summary>Logits (B, T, K) of layer <paramref name="layer"/> for hidden states (B, T, C) at budgets (B).</summary>
    public override Tensor forward(Tensor hidden, Tensor budgets, int layer)
    {
        using var scope = NewDisposeScope();
        long B = hidden.shape[0], T = hidden.shape[1];
        var code = StaticRouters.Encode(budgets).unsqueeze(1).expand(B, T, StaticRouters.Features);   // (B, T, 3)
        return routers[layer].call(cat([hidden, code], -1)).MoveToOuterDisposeScope();             // (B, T, K)
    }

    /// <summary>
    /// The routers at <paramref name="budget"/> for the native engine (<see cref="Native.NativeLlama.RouteMlps"/>), over the
    /// nested MLP widths <paramref name="units"/>.
    /// </summary>
    public Native.NativeMlpRouting ToNative(double budget, int[] units, Native.NativeRoutedMlp execution)
    {
        ArgumentNullException.ThrowIfNull(units);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weights = state_dict();
        static float[] Flat(Tensor t) => t.detach().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        var layers = Enumerable.Range(0, routers.Count).Select(l => new Native.NativeRouterLayer(
            Flat(weights[$"routers.{l}.0.weight"]), Flat(weights[$"routers.{l}.0.bias"]),
            Flat(weights[$"routers.{l}.2.weight"]), Flat(weights[$"routers.{l}.2.bias"]))).ToList();
        var code = Flat(StaticRouters.Encode(tensor(new[] { (float)budget })));
        int dim = (int)weights["routers.0.0.weight"].shape[1] - code.Length;
        return new Native.NativeMlpRouting(layers, units, code, dim, execution);
    }

    /// <summary>The soft neuron mask (B, T, H) of choice probabilities y (B, T, K) over nested widths <paramref name="units"/> of H neurons.</summary>
    public static Tensor NestedMask(Tensor y, int[] units, int hidden)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(units);
        using var scope = NewDisposeScope();
        var keep = zeros(units.Length, hidden, y.dtype, y.device);                 // keep[k, j] = 1 when neuron j is within width k
        for (int k = 0; k < units.Length; k++) keep[k].narrow(0, 0, units[k]).fill_(1);
        return y.matmul(keep).MoveToOuterDisposeScope();                           // (B, T, H)
    }

    /// <summary>
    /// The MLP of <paramref name="mlp"/> on x (N, C) with token n at <paramref name="units"/>[choice[n]] neurons: rows grouped
    /// by width, each group a dense smaller MLP, results scattered back to (N, C).
    /// </summary>
    public static Tensor GroupedMlp(LlamaMlpView mlp, Tensor x, long[] choice, int[] units)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(choice);
        ArgumentNullException.ThrowIfNull(units);
        using var scope = NewDisposeScope();
        var y = zeros_like(x);
        for (int k = 0; k < units.Length; k++)
        {
            var rows = Enumerable.Range(0, choice.Length).Where(n => choice[n] == k).Select(n => (long)n).ToArray();
            if (rows.Length == 0) continue;
            var index = tensor(rows, device: x.device);
            var part = x.index_select(0, index);                                    // (n_k, C)
            y.index_copy_(0, index, mlp.Run(part, units[k]));
        }
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>An MLP's weights, run at the first k neurons (contiguous copies, as a deployed narrow MLP would hold).</summary>
public sealed class LlamaMlpView : IDisposable
{
    private readonly Dictionary<int, (Tensor Gate, Tensor Up, Tensor Down)> byWidth = [];

    /// <summary>Dense copies of <paramref name="mlp"/>'s first k neurons for each k in <paramref name="units"/>.</summary>
    public LlamaMlpView(Models.LlamaMLP mlp, int[] units)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        ArgumentNullException.ThrowIfNull(units);
        using var noGrad = no_grad();
        foreach (var k in units)
        {
            var gate = mlp.GateProj.weight!.narrow(0, 0, k).contiguous().detach().clone();
            var up = mlp.UpProj.weight!.narrow(0, 0, k).contiguous().detach().clone();
            var down = mlp.DownProj.weight!.narrow(1, 0, k).contiguous().detach().clone();
            foreach (var t in new[] { gate, up, down }) t.DetachFromDisposeScope();
            byWidth[k] = (gate, up, down);
        }
    }

    /// <summary>SwiGLU of x (..., C) at <paramref name="k"/> neurons.</summary>
    public Tensor Run(Tensor x, int k)
    {
        var (gate, up, down) = byWidth[k];
        using var scope = NewDisposeScope();
        var h = functional.silu(functional.linear(x, gate)) * functional.linear(x, up);
        return functional.linear(h, down).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (g, u, d) in byWidth.Values)
        {
            g.Dispose();
            u.Dispose();
            d.Dispose();
        }
    }
}
