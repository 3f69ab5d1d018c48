using Condense.Search.Studies;

namespace Condense.Search.Cluster;

/// <summary>The study grain: a <see cref="Study"/> over the silo's shared store (see <see cref="IStudyGrain"/>).</summary>
public sealed class StudyGrain(IStudyStore store) : Grain, IStudyGrain
{
    private Study? _study;

    private Study Study => _study ??= Study.Attach(store, this.GetPrimaryKeyString());

    /// <inheritdoc/>
    public Task<string> Open(string? definitionJson)
    {
        if (definitionJson is not null)
        {
            var definition = StudyDefinition.FromJson(definitionJson, "the study definition sent to the cluster");
            if (definition.Name != this.GetPrimaryKeyString()) throw new ArgumentException("the grain key is the study's name", nameof(definitionJson));
            _study = Study.Open(store, definition);
        }
        return Task.FromResult(Study.Definition.ToJson());
    }

    /// <inheritdoc/>
    public Task<LeaseReply> Lease(string worker, double leaseSeconds, bool allowNew)
    {
        var a = Study.Lease(worker, TimeSpan.FromSeconds(leaseSeconds), allowNew);
        return Task.FromResult(new LeaseReply((int)a.Kind, a.Trial, a.Config is null ? null : Study.ConfigJson(a.Config), a.StartPhase, a.Phases, a.Seed,
            Environment.ProcessId));
    }

    /// <inheritdoc/>
    public Task<ReportReply> Report(string worker, long trial, int phase, double score, double seconds, double cost, double leaseSeconds)
    {
        var r = Study.Report(worker, trial, phase, score, seconds, cost, TimeSpan.FromSeconds(leaseSeconds));
        return Task.FromResult(new ReportReply((int)r.Decision, r.LeaseLost, r.Duplicate));
    }

    /// <inheritdoc/>
    public Task<bool> Heartbeat(string worker, long trial, double leaseSeconds) =>
        Task.FromResult(Study.Heartbeat(worker, trial, TimeSpan.FromSeconds(leaseSeconds)));

    /// <inheritdoc/>
    public Task Fail(string worker, long trial, string error)
    {
        Study.Fail(worker, trial, error);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<bool> Release(string worker, long trial) => Task.FromResult(Study.Release(worker, trial));
}
