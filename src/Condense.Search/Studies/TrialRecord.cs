using Condense.Search.Scheduling;

namespace Condense.Search.Studies;

/// <summary>Where a trial is in its life.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum TrialState
{
    /// <summary>Leased to a worker, which is running its phases.</summary>
    Running,
    /// <summary>Its worker lost the lease (died or hung): the next free worker resumes it at <see cref="TrialRecord.NextPhase"/>.</summary>
    Queued,
    /// <summary>Stopped at a rung; the scheduler may resume it (promotion).</summary>
    Paused,
    /// <summary>Stopped early by the scheduler.</summary>
    Stopped,
    /// <summary>Ran its last phase.</summary>
    Completed,
    /// <summary>The objective threw; not retried.</summary>
    Failed,
}

/// <summary>One trial as the store keeps it.</summary>
public sealed class TrialRecord
{
    /// <summary>The trial's number in its study (0, 1, ...).</summary>
    public long Number { get; init; }
    /// <summary>The configuration as JSON (name → number or string).</summary>
    public required string ConfigJson { get; init; }
    /// <summary>Its state.</summary>
    public TrialState State { get; set; }
    /// <summary>The last phase it reported (0 before the first).</summary>
    public int LastPhase { get; set; }
    /// <summary>The phase a worker runs next when it takes this trial.</summary>
    public int NextPhase { get; set; } = 1;
    /// <summary>The score it reported last (as the objective reported it), or null.</summary>
    public double? LastScore { get; set; }
    /// <summary>The worker holding its lease, or null.</summary>
    public string? Worker { get; set; }
    /// <summary>When the lease runs out (UTC).</summary>
    public DateTimeOffset? LeaseUntil { get; set; }
    /// <summary>How often it was handed to another worker after a lost lease.</summary>
    public int Requeues { get; set; }
    /// <summary>When it was created (UTC).</summary>
    public DateTimeOffset Created { get; init; }
    /// <summary>When it ended (stopped, completed, failed), or null.</summary>
    public DateTimeOffset? Ended { get; set; }
    /// <summary>Why it failed, or null.</summary>
    public string? Error { get; set; }
}

/// <summary>One reported phase.</summary>
/// <param name="Trial">The trial's number.</param>
/// <param name="Phase">The phase (1-based).</param>
/// <param name="Score">The score as the objective reported it.</param>
/// <param name="Decision">What the scheduler decided.</param>
/// <param name="Worker">Who ran it.</param>
/// <param name="Seconds">The phase's wall time on the worker.</param>
/// <param name="Cost">The phase's compute in the objective's own unit (e.g. environment steps), or 0.</param>
/// <param name="Sequence">The report's position in the study (0, 1, ...), so curves replay in order.</param>
/// <param name="Time">When it was recorded (UTC).</param>
public sealed record ReportRecord(long Trial, int Phase, double Score, Decision Decision, string Worker, double Seconds, double Cost,
    long Sequence, DateTimeOffset Time);
