using Condense.Search.Spaces;

namespace Condense.Search.Running;

/// <summary>A trial as its objective sees it.</summary>
/// <param name="Number">The trial's number.</param>
/// <param name="Config">Its hyperparameters.</param>
/// <param name="Seed">Its own seed (initialization, environments).</param>
/// <param name="Phases">Its last phase.</param>
/// <param name="CheckpointDir">Where it keeps its checkpoint between phases (shared storage in a cluster).</param>
public sealed record TrialContext(long Number, TrialConfig Config, ulong Seed, int Phases, string CheckpointDir);

/// <summary>One phase's outcome.</summary>
/// <param name="Score">The score (the study's direction says whether higher is better).</param>
/// <param name="Cost">Compute spent, in the objective's unit (e.g. environment steps); 0 when not measured.</param>
public sealed record PhaseResult(double Score, double Cost);

/// <summary>
/// An objective trained phase by phase. A phase may run on another worker than the one before it (after a lost lease,
/// or a promotion), so the objective keeps a trial's state in <see cref="TrialContext.CheckpointDir"/> (or, when all
/// workers share one process, in memory keyed by trial) and resumes from it. Calls for different trials may be
/// concurrent.
/// </summary>
public interface IPhasedObjective
{
    /// <summary>The objective's name as studies record it.</summary>
    string Name { get; }

    /// <summary>Trains <paramref name="trial"/> through <paramref name="phase"/> (from its state after phase − 1) and scores it.</summary>
    PhaseResult RunPhase(TrialContext trial, int phase, CancellationToken cancellation);

    /// <summary>The trial ended (stopped, completed or failed): in-memory state may be dropped.</summary>
    void Release(long trial);
}
