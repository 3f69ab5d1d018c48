// Summary (CLS) tokens and registers of the AM-RADIO student (arXiv:2312.06709, section 3.2: one summary token
// per teacher). Reference: NVlabs/RADIO, radio/cls_token.py (ClsToken): one learned (num_tokens + registers) x D
// parameter `token`, initialized randn * D^-1/2, prepended to the patch tokens.
//
// Deviations:
// - The register count is resolved by RadioStudentConfig (explicit count or the register_multiple rule).
// - With no summary tokens and no registers there is no `token` parameter and forward is the identity (the
//   reference's enabled=False).
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>
/// Prepends NumTokens summary tokens followed by NumRegisters register tokens: (B, N, D) to (B, T + N, D).
/// </summary>
internal sealed class ClsToken : Module<Tensor, Tensor>
{
    private readonly Parameter? token;

    public ClsToken(int embedDim, int numTokens, int numRegisters) : base(nameof(ClsToken))
    {
        NumTokens = numTokens;
        NumRegisters = numRegisters;
        if (numTokens + numRegisters > 0)
            token = Parameter(randn(numTokens + numRegisters, embedDim) * Math.Pow(embedDim, -0.5));
        RegisterComponents();
    }

    /// <summary>Summary tokens, one per teacher with a summary.</summary>
    public int NumTokens { get; }

    /// <summary>Register tokens after the summary tokens.</summary>
    public int NumRegisters { get; }

    /// <summary>The learned (NumTokens + NumRegisters, D) tokens, or null when there are none.</summary>
    public Parameter? Token => token;

    public override Tensor forward(Tensor x)
    {
        if (token is null) return x.alias();
        using var scope = NewDisposeScope();
        var prefix = token.unsqueeze(0).expand(x.shape[0], -1, -1);   // (B, T, D)
        return cat([prefix, x], dim: 1).MoveToOuterDisposeScope();    // (B, T + N, D)
    }
}
