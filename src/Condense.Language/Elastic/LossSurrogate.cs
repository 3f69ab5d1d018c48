// Flextron's surrogate model (SM, section 3.2): a small MLP that predicts the elastic model's language-modelling loss
// from the routers' output alone, so the routers can be trained against "how good is this sub-network" without a
// forward pass of the LLM per router step. Its input is the concatenation, over every router, of that router's choice
// distribution (a one-hot vector for a sampled sub-network, a Gumbel-softmax mixture during router training); the
// paper feeds the router logits, which carry the same information up to a softmax (Condense's choice, stated).
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Elastic;

/// <summary>Predicts the LM loss of a sub-network from its routers' choice distributions.</summary>
public sealed class LossSurrogate : Module<Tensor, Tensor>
{
    private readonly Sequential net;

    /// <summary>A surrogate over <paramref name="inputs"/> concatenated choice probabilities.</summary>
    public LossSurrogate(int inputs, int hidden = 64) : base(nameof(LossSurrogate))
    {
        net = Sequential(Linear(inputs, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 1));
        RegisterComponents();
    }

    /// <summary>Predicted loss (N) for choice distributions (N, inputs).</summary>
    public override Tensor forward(Tensor choices) => net.call(choices).squeeze(-1);

    /// <summary>The one-hot input of a sub-network: per layer the attention choice, then per layer the MLP choice.</summary>
    public static Tensor OneHot(ElasticWidths widths, LayerWidth[] headUnits, int[] mlpUnits)
    {
        ArgumentNullException.ThrowIfNull(widths);
        ArgumentNullException.ThrowIfNull(headUnits);
        ArgumentNullException.ThrowIfNull(mlpUnits);
        int layers = widths.Layers.Count;
        var v = new float[layers * (headUnits.Length + mlpUnits.Length)];
        for (int i = 0; i < layers; i++)
        {
            int h = Array.IndexOf(headUnits, widths.Layers[i] with { MlpNeurons = 0 }), m = Array.IndexOf(mlpUnits, widths.Layers[i].MlpNeurons);
            if (h < 0 || m < 0) throw new ArgumentException($"layer {i}: {widths.Layers[i]} is not among the candidates");
            v[i * headUnits.Length + h] = 1;
            v[layers * headUnits.Length + i * mlpUnits.Length + m] = 1;
        }
        return tensor(v, [1, v.Length]);
    }
}
