namespace Condense.Core.Training;

/// <summary>
/// The loss or gradient norm became NaN or infinite. The run stops without writing another checkpoint, so the
/// last good checkpoint stays the latest one.
/// </summary>
public sealed class TrainingDivergedException(long step, string quantity, double value, string? lastCheckpoint)
    : Exception($"{quantity} is {value} at step {step}; training stopped" +
                (lastCheckpoint is null ? " (no checkpoint was written yet)" : $", last good checkpoint: {lastCheckpoint}"))
{
    /// <summary>The step (1-based) whose loss or gradient norm was not finite; it was not applied.</summary>
    public long Step { get; } = step;

    /// <summary>The newest checkpoint written or resumed from, or null when there is none yet.</summary>
    public string? LastCheckpoint { get; } = lastCheckpoint;
}
