// Flextron's per-token MLP routers (Cai et al., ICML 2024, section 3.2) on the native engine: per layer, a two-layer
// router reads the token's normalised MLP input and the budget's encoding and picks the token's MLP width; the MLP then
// runs at that width. The budget is fixed per instance, so its part of the first layer is folded into the bias once,
// and the rest, (hidden, dim), runs through the engine's matrix kernels for the whole block (the router's first layer
// is most of its cost; the second, widths × hidden, is a few products per token).
//
// Grouped execution gathers a block's tokens by width and runs each group as a dense MLP of that width (the first k rows
// of the gate and up weights, a contiguous copy of the down weight's first k columns), so a token routed to a quarter
// of the neurons costs a quarter of the MLP's products. Masked execution runs the full MLP and zeroes each token's
// dropped neurons before the down projection: the same values at full cost, the baseline the grouping has to beat.
namespace Condense.Language.Native;

/// <summary>How a routed MLP runs on the native engine.</summary>
public enum NativeRoutedMlp
{
    /// <summary>Tokens grouped by width, each group a dense smaller MLP.</summary>
    Grouped,
    /// <summary>The full MLP with each token's dropped neurons zeroed.</summary>
    Masked,
}

/// <summary>One layer's router: Linear(dim + 3 → hidden), ReLU, Linear(hidden → widths), as row-major arrays.</summary>
/// <param name="FirstWeight">(hidden, dim + budget features).</param>
/// <param name="FirstBias">(hidden).</param>
/// <param name="SecondWeight">(widths, hidden).</param>
/// <param name="SecondBias">(widths).</param>
public sealed record NativeRouterLayer(float[] FirstWeight, float[] FirstBias, float[] SecondWeight, float[] SecondBias);

/// <summary>Per-token MLP width routers at one budget, for <see cref="NativeLlama.RouteMlps"/>.</summary>
public sealed class NativeMlpRouting
{
    private readonly float[][] inputWeight, foldedBias, secondWeight, secondBias;
    private readonly int hidden;

    /// <summary>
    /// Routers for every layer (<paramref name="layers"/>) over the nested MLP widths <paramref name="units"/> (ascending
    /// neuron counts), with the budget's encoding <paramref name="budgetCode"/> appended to each token's hidden state.
    /// </summary>
    public NativeMlpRouting(IReadOnlyList<NativeRouterLayer> layers, int[] units, float[] budgetCode, int dim, NativeRoutedMlp execution)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(budgetCode);
        if (units.Length == 0 || units.Any(u => u < 1) || units.Zip(units.Skip(1)).Any(p => p.First >= p.Second))
            throw new ArgumentException($"widths {string.Join(",", units)}: must be ascending positive neuron counts", nameof(units));
        Units = units;
        Execution = execution;
        Dim = dim;
        int inputs = dim + budgetCode.Length;
        hidden = layers.Count == 0 ? 0 : layers[0].FirstBias.Length;
        inputWeight = new float[layers.Count][];
        foldedBias = new float[layers.Count][];
        secondWeight = new float[layers.Count][];
        secondBias = new float[layers.Count][];
        for (int l = 0; l < layers.Count; l++)
        {
            var r = layers[l];
            if (r.FirstWeight.Length != hidden * inputs || r.FirstBias.Length != hidden || r.SecondWeight.Length != units.Length * hidden
                || r.SecondBias.Length != units.Length)
                throw new ArgumentException($"router of layer {l} is not ({hidden}, {inputs}) → ({units.Length}, {hidden})", nameof(layers));
            var input = new float[hidden * dim];
            for (int j = 0; j < hidden; j++) r.FirstWeight.AsSpan(j * inputs, dim).CopyTo(input.AsSpan(j * dim, dim));
            inputWeight[l] = input;
            secondWeight[l] = r.SecondWeight;
            secondBias[l] = r.SecondBias;
            // The budget's features are the same for every token: their products join the bias once.
            var bias = new float[hidden];
            for (int j = 0; j < hidden; j++)
            {
                float sum = r.FirstBias[j];
                for (int f = 0; f < budgetCode.Length; f++) sum += r.FirstWeight[j * inputs + dim + f] * budgetCode[f];
                bias[j] = sum;
            }
            foldedBias[l] = bias;
        }
    }

    /// <summary>Layers routed.</summary>
    public int Layers => inputWeight.Length;

    /// <summary>Model width the routers read.</summary>
    public int Dim { get; }

    /// <summary>Candidate MLP widths (neurons), ascending.</summary>
    public int[] Units { get; }

    /// <summary>How the routed MLPs run.</summary>
    public NativeRoutedMlp Execution { get; }

    /// <summary>Neurons of the routers' hidden layer.</summary>
    public int Hidden => hidden;

    /// <summary>Layer <paramref name="layer"/>'s first-layer weights over the token's hidden state, (hidden, dim) row-major.</summary>
    public float[] InputWeight(int layer) => inputWeight[layer];

    /// <summary>
    /// The index into <see cref="Units"/> that layer <paramref name="layer"/>'s router picks, given the products
    /// <paramref name="products"/> = InputWeight · h of one token (hidden values, overwritten); the first of equal logits, as argmax.
    /// </summary>
    public int Pick(int layer, Span<float> products)
    {
        var b1 = foldedBias[layer];
        var z = products[..hidden];
        for (int j = 0; j < hidden; j++) z[j] = Math.Max(0f, z[j] + b1[j]);
        var w2 = secondWeight[layer];
        var b2 = secondBias[layer];
        int best = 0;
        float bestLogit = float.NegativeInfinity;
        for (int k = 0; k < Units.Length; k++)
        {
            float sum = 0;
            for (int j = 0; j < hidden; j++) sum += w2[k * hidden + j] * z[j];
            sum += b2[k];
            if (sum > bestLogit)
            {
                bestLogit = sum;
                best = k;
            }
        }
        return best;
    }
}
