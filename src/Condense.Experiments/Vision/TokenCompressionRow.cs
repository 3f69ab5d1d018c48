// One line of the token-compression comparison (RADIOv2.5's ToMe ablation, section 3.4 of
// shared/research/radio.md; ToMe: Bolya et al., arXiv:2210.09461). No reference file; no deviations.
namespace Condense.Experiments.Vision;

/// <summary>How much of the tokens one compression method keeps at one ratio.</summary>
/// <param name="Method">"none", "tome", "tome-kth", "avgpool", "unshuffle" or "unshuffle-pca".</param>
/// <param name="Ratio">Input tokens / output tokens (1 for "none").</param>
/// <param name="TokensIn">Tokens per image before compression.</param>
/// <param name="TokensOut">Tokens per image after compression.</param>
/// <param name="Width">Channels per output token.</param>
/// <param name="ReconstructionError">
/// ‖x − x̂‖² / ‖x − mean(x)‖² over the held-out tokens, x̂ the unmerged / upsampled / decoded tokens.
/// </param>
/// <param name="ProbeAccuracy">Linear-probe top-1 on the per-image mean of the output tokens.</param>
public sealed record TokenCompressionRow(string Method, int Ratio, long TokensIn, long TokensOut, long Width,
    double ReconstructionError, double ProbeAccuracy);
