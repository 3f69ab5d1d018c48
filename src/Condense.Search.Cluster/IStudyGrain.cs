// The study as a grain: one activation in the whole cluster is the coordinator; Orleans moves it to another silo when
// its silo dies, and the new activation continues from the shared store. Messages carry only small records (no
// checkpoints: those go to shared storage).
namespace Condense.Search.Cluster;

/// <summary>A lease answer on the wire.</summary>
[GenerateSerializer, Alias("Condense.Search.LeaseReply")]
public sealed record LeaseReply(
    [property: Id(0)] int Kind, [property: Id(1)] long Trial, [property: Id(2)] string? ConfigJson, [property: Id(3)] int StartPhase,
    [property: Id(4)] int Phases, [property: Id(5)] ulong Seed, [property: Id(6)] int HostProcess);

/// <summary>A report answer on the wire.</summary>
[GenerateSerializer, Alias("Condense.Search.ReportReply")]
public sealed record ReportReply([property: Id(0)] int Decision, [property: Id(1)] bool LeaseLost, [property: Id(2)] bool Duplicate);

/// <summary>The coordinator of one study (the grain key is the study's name).</summary>
[Alias("Condense.Search.IStudyGrain")]
public interface IStudyGrain : IGrainWithStringKey
{
    /// <summary>Creates the study from its definition (JSON) or checks that the existing one is the same; returns the stored definition.</summary>
    [Alias("Open")]
    Task<string> Open(string? definitionJson);

    /// <summary>See <see cref="Condense.Search.Studies.Study.Lease"/>.</summary>
    [Alias("Lease")]
    Task<LeaseReply> Lease(string worker, double leaseSeconds, bool allowNew);

    /// <summary>See <see cref="Condense.Search.Studies.Study.Report"/>.</summary>
    [Alias("Report")]
    Task<ReportReply> Report(string worker, long trial, int phase, double score, double seconds, double cost, double leaseSeconds);

    /// <summary>See <see cref="Condense.Search.Studies.Study.Heartbeat"/>.</summary>
    [Alias("Heartbeat")]
    Task<bool> Heartbeat(string worker, long trial, double leaseSeconds);

    /// <summary>See <see cref="Condense.Search.Studies.Study.Fail"/>.</summary>
    [Alias("Fail")]
    Task Fail(string worker, long trial, string error);

    /// <summary>See <see cref="Condense.Search.Studies.Study.Release"/>.</summary>
    [Alias("Release")]
    Task<bool> Release(string worker, long trial);
}
