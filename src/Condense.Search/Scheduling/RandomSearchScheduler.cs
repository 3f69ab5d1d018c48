// Random search: every trial runs all its phases (HyperTrick with r = 1). The baseline every early-stopping method
// must beat at equal compute.
namespace Condense.Search.Scheduling;

/// <summary>Runs every sampled trial to the end.</summary>
public sealed class RandomSearchScheduler(int phases) : ITrialScheduler
{
    /// <inheritdoc/>
    public string Name => "random";

    /// <inheritdoc/>
    public int Phases { get; } = phases >= 1 ? phases : throw new Condense.Core.InputException($"random: Phases = {phases}: need at least 1");

    /// <inheritdoc/>
    public Work Next(bool mayStartNew) => mayStartNew ? Work.New : Work.Nothing;

    /// <inheritdoc/>
    public void Started(long trial) { }

    /// <inheritdoc/>
    public Decision Report(long trial, int phase, double score) => phase >= Phases ? Decision.Complete : Decision.Continue;

    /// <inheritdoc/>
    public void Abandon(long trial) { }

    /// <inheritdoc/>
    public string SaveState() => "{}";

    /// <inheritdoc/>
    public void LoadState(string json) { }
}
