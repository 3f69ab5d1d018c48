// The contract every scheduler meets (Ray Tune's TrialScheduler, pull-based). A study asks Next() when a worker is
// free, and Report() after each phase a trial finishes. Scores are "higher is better" here; the study flips the sign
// for minimized objectives. Schedulers are deterministic state machines: no clocks, no randomness, no threads; the
// study serializes calls and persists SaveState() after each one, so a restarted coordinator continues exactly.
namespace Condense.Search.Scheduling;

/// <summary>What a free worker should do.</summary>
public abstract record Work
{
    /// <summary>Start a new trial (the study draws its configuration) at phase 1.</summary>
    public sealed record NewTrial : Work;

    /// <summary>Continue a paused trial from its checkpoint, starting at <paramref name="Phase"/>.</summary>
    public sealed record Resume(long Trial, int Phase) : Work;

    /// <summary>Nothing to start now (a rung barrier, or the trial budget is spent): wait for a report.</summary>
    public sealed record None : Work;

    /// <summary>The one instance of <see cref="NewTrial"/>.</summary>
    public static readonly Work New = new NewTrial();

    /// <summary>The one instance of <see cref="None"/>.</summary>
    public static readonly Work Nothing = new None();
}

/// <summary>What happens to a trial after it reports a phase.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum Decision
{
    /// <summary>Run the next phase on the same worker.</summary>
    Continue,
    /// <summary>Terminate the trial; the worker takes new work.</summary>
    Stop,
    /// <summary>Keep the checkpoint; the scheduler may resume the trial later (promotion); the worker takes new work.</summary>
    Pause,
    /// <summary>The trial ran its last phase.</summary>
    Complete,
}

/// <summary>An asynchronous (or, for Hyperband, synchronous) early-stopping scheduler.</summary>
public interface ITrialScheduler
{
    /// <summary>The scheduler's name as studies record it (e.g. "hypertrick").</summary>
    string Name { get; }

    /// <summary>Phases of a trial that runs to the end.</summary>
    int Phases { get; }

    /// <summary>The next work for a free worker; <paramref name="mayStartNew"/> is false once the trial budget is spent.</summary>
    Work Next(bool mayStartNew);

    /// <summary>The study created trial <paramref name="trial"/> for the <see cref="Work.NewTrial"/> just returned.</summary>
    void Started(long trial);

    /// <summary>Trial <paramref name="trial"/> finished phase <paramref name="phase"/> with <paramref name="score"/> (higher is better).</summary>
    Decision Report(long trial, int phase, double score);

    /// <summary>Trial <paramref name="trial"/> will never report again (its objective failed): forget it, so no barrier
    /// waits for it.</summary>
    void Abandon(long trial);

    /// <summary>The scheduler's state as JSON (rungs, brackets, recorded scores).</summary>
    string SaveState();

    /// <summary>Restores a state written by <see cref="SaveState"/>.</summary>
    void LoadState(string json);
}
