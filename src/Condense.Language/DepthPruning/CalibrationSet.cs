// Token sequences a pruning decision is computed on: N non-overlapping windows of T + 1 tokens cut from a token
// stream by TokenCorpus.Consecutive (inputs are the first T, targets the last T), with a per-target label saying
// whether the target token lies inside quoted speech (dialogue) or outside it (narrative), for the second task.
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Calibration (or evaluation) windows: tokens (N, T + 1) and target labels (N, T).</summary>
public sealed class CalibrationSet : IDisposable
{
    /// <summary>Windows (N, T + 1) and their targets' labels (N, T); built by <see cref="Text.TokenCorpus.Consecutive"/>.</summary>
    internal CalibrationSet(Tensor tokens, Tensor labels)
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

    public void Dispose()
    {
        Tokens.Dispose();
        Labels.Dispose();
    }
}
