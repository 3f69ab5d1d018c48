// The "mlp_v2" adaptor head of AM-RADIO (arXiv:2312.06709, section 3.2: a 2-layer MLP with LayerNorm and GELU in
// between, hidden width = the largest teacher width). Reference: NVlabs/RADIO, radio/adaptor_mlp.py (MLP2).
//
//   x = pre_norm(x)                        optional LayerNorm -> GELU on the input (`pre_norm.0`)
//   x = fc1(x)                             in -> hidden
//   x = x + blocks[i](x), i < num_inner    blocks[i] = LayerNorm -> GELU -> Linear(hidden, hidden)
//   y = final(x)                           LayerNorm -> GELU -> Linear(hidden, out)
// With num_inner = 0 and no pre-norm this is exactly the paper's head: Linear -> LayerNorm -> GELU -> Linear.
// State-dict names as the reference: `fc1.*`, `blocks.{i}.0.*` (LayerNorm), `blocks.{i}.2.*` (Linear),
// `final.0.*` (LayerNorm), `final.2.*` (Linear), `pre_norm.0.*`.
//
// Deviations:
// - No upsample_factor (learned pixel shuffle to a denser teacher grid); heads work on any leading shape (..., in).
// - PyTorch's default Linear and LayerNorm init (as the reference); TAO's zero init of the final bias is not used.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>MLP2 adaptor head: (..., inputDim) to (..., outputDim).</summary>
internal sealed class Mlp2 : Module<Tensor, Tensor>
{
    private readonly Sequential? pre_norm;
    private readonly Linear fc1;
    private readonly ModuleList<Sequential> blocks;
    private readonly Sequential final;

    public Mlp2(int inputDim, int hiddenDim, int outputDim, int numInner = 0, bool preNorm = false)
        : base(nameof(Mlp2))
    {
        if (inputDim <= 0 || hiddenDim <= 0 || outputDim <= 0 || numInner < 0)
            throw new ArgumentException(
                $"Mlp2 sizes must be positive (numInner >= 0): {inputDim}, {hiddenDim}, {outputDim}, {numInner}.");
        InputDim = inputDim;
        HiddenDim = hiddenDim;
        OutputDim = outputDim;
        NumInner = numInner;
        if (preNorm) pre_norm = Sequential(LayerNorm(inputDim), GELU());
        fc1 = Linear(inputDim, hiddenDim);
        blocks = new ModuleList<Sequential>(Enumerable.Range(0, numInner)
            .Select(_ => Sequential(LayerNorm(hiddenDim), GELU(), Linear(hiddenDim, hiddenDim))).ToArray());
        final = Sequential(LayerNorm(hiddenDim), GELU(), Linear(hiddenDim, outputDim));
        RegisterComponents();
    }

    /// <summary>Width of the input tokens.</summary>
    public int InputDim { get; }

    /// <summary>Width of the hidden layers.</summary>
    public int HiddenDim { get; }

    /// <summary>Width of the output (the teacher's width).</summary>
    public int OutputDim { get; }

    /// <summary>Residual inner blocks between fc1 and the final layer.</summary>
    public int NumInner { get; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (pre_norm is not null) x = pre_norm.call(x);   // (..., in)
        x = fc1.call(x);                                  // (..., hidden)
        foreach (var block in blocks)
            x = x + block.call(x);                        // (..., hidden)
        return final.call(x).MoveToOuterDisposeScope();   // (..., out)
    }
}
