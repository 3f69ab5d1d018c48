namespace Condense.Search.Studies;

/// <summary>
/// What a worker needs from a study: the coordinator itself (<see cref="Study"/>, over a store this process can open) or
/// a proxy to it (the study grain of a cluster). Calls are synchronous and each is atomic at the coordinator.
/// </summary>
public interface IStudyClient
{
    /// <summary>The study's definition.</summary>
    StudyDefinition Definition { get; }

    /// <summary>The next job for <paramref name="worker"/> (see <see cref="Study.Lease"/>).</summary>
    Assignment Lease(string worker, TimeSpan leaseFor, bool allowNew = true);

    /// <summary>A phase's score (see <see cref="Study.Report"/>).</summary>
    ReportOutcome Report(string worker, long trial, int phase, double score, double seconds, double cost, TimeSpan leaseFor);

    /// <summary>Renews a lease; false when the worker no longer holds it.</summary>
    bool Heartbeat(string worker, long trial, TimeSpan leaseFor);

    /// <summary>The objective threw: the trial fails.</summary>
    void Fail(string worker, long trial, string error);

    /// <summary>Gives an interrupted trial back at once.</summary>
    bool Release(string worker, long trial);
}
