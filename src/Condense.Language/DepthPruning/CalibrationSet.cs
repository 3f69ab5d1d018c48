// Token sequences a pruning decision is computed on: N non-overlapping windows of T + 1 tokens cut from a token
// token stream (inputs are the first T, targets the last T), with a per-target label saying
// whether the target token lies inside quoted speech (dialogue) or outside it (narrative), for the second task.
using Condense.Core;
using Condense.Language.Text;
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Calibration (or evaluation) windows: tokens (N, T + 1) and target labels (N, T).</summary>
public sealed class CalibrationSet : IDisposable
{
    private CalibrationSet(Tensor tokens, Tensor labels)
    {
        Tokens = tokens;
        Labels = labels;
    }

    /// <summary>Token ids (N, T + 1), int64.</summary>
    public Tensor Tokens { get; }

    /// <summary>Per-target label (N, T), int8: 1 dialogue, 0 narrative, −1 neither (a token holding a quote mark).</summary>
    public Tensor Labels { get; }

    /// <summary>Number of windows.</summary>
    public int Sequences => (int)Tokens.shape[0];

    /// <summary>Predicted positions per window.</summary>
    public int Length => (int)Tokens.shape[1] - 1;

    /// <summary>Inputs (n, T) of windows [start, start + n).</summary>
    public Tensor Inputs(int start, int n) => Tokens.narrow(0, start, n).narrow(1, 0, Length);

    /// <summary>Targets (n, T) of windows [start, start + n).</summary>
    public Tensor Targets(int start, int n) => Tokens.narrow(0, start, n).narrow(1, 1, Length);

    /// <summary>Labels (n, T) of windows [start, start + n).</summary>
    public Tensor TargetLabels(int start, int n) => Labels.narrow(0, start, n);

    /// <summary>
    /// <paramref name="sequences"/> non-overlapping windows of <paramref name="length"/> + 1 tokens from the start of a
    /// labelled corpus. <paramref name="source"/> names the text in the error when it is too short.
    /// </summary>
    public static CalibrationSet From(TokenCorpus corpus, int sequences, int length, string source)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var ids = corpus.Ids;
        var labels = corpus.TokenLabels ?? throw new ArgumentException("calibration windows carry labels: build the corpus with labels", nameof(corpus));
        if (sequences < 1) throw new InputException($"calibration sequences must be at least 1, got {sequences}");
        if (length < 2) throw new InputException($"calibration sequence length must be at least 2, got {length}");
        long need = (long)sequences * (length + 1);
        if (ids.Count < need)
            throw new InputException($"{source}: calibration text too short: {ids.Count} tokens, " +
                $"{sequences} samples of {length + 1} tokens need {need}");
        var tok = new long[need];
        var lab = new sbyte[sequences * length];
        for (int s = 0; s < sequences; s++)
        {
            int start = s * (length + 1);
            for (int t = 0; t <= length; t++) tok[s * (length + 1) + t] = ids[start + t];
            for (int t = 0; t < length; t++) lab[s * length + t] = labels[start + t + 1];
        }
        return new CalibrationSet(tensor(tok, [sequences, length + 1]), tensor(lab, [sequences, length]));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Labels.Dispose();
    }
}
