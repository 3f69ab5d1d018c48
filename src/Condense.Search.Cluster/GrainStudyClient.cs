// A worker's view of a study that lives in the cluster. Calls are retried through a fail-over (the study grain's silo
// died; Orleans reactivates it elsewhere): a retried report is recognized as a duplicate by the coordinator, and a
// retried lease gives the worker back the trial it may already have been handed.
using Condense.Search.Scheduling;
using Condense.Search.Studies;

namespace Condense.Search.Cluster;

/// <summary>An <see cref="IStudyClient"/> over the study grain.</summary>
public sealed class GrainStudyClient : IStudyClient
{
    private readonly IStudyGrain _grain;
    private readonly Action<string>? _log;
    private int _host;

    /// <summary>A client for study <paramref name="study"/>; <paramref name="definition"/> creates it when given.</summary>
    public GrainStudyClient(IGrainFactory grains, string study, StudyDefinition? definition, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _grain = grains.GetGrain<IStudyGrain>(study);
        _log = log;
        Definition = StudyDefinition.FromJson(Call(() => _grain.Open(definition?.ToJson())), $"study {study}");
    }

    /// <inheritdoc/>
    public StudyDefinition Definition { get; }

    /// <summary>The process id of the silo that hosted the study grain at the last lease.</summary>
    public int CoordinatorProcess => _host;

    private T Call<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return call().GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException or OperationCanceledException && DateTime.UtcNow < deadline)
            {
                _log?.Invoke($"study call failed ({ex.GetType().Name}); retrying while the cluster recovers");
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(2000, 100 << Math.Min(attempt, 5))));
            }
        }
    }

    /// <inheritdoc/>
    public Assignment Lease(string worker, TimeSpan leaseFor, bool allowNew = true)
    {
        var r = Call(() => _grain.Lease(worker, leaseFor.TotalSeconds, allowNew));
        if (r.HostProcess != Interlocked.Exchange(ref _host, r.HostProcess)) _log?.Invoke($"study coordinator in process {r.HostProcess}");
        return new Assignment((AssignmentKind)r.Kind, r.Trial, r.ConfigJson is null ? null : Study.ParseConfig(r.ConfigJson), r.StartPhase, r.Phases, r.Seed);
    }

    /// <inheritdoc/>
    public ReportOutcome Report(string worker, long trial, int phase, double score, double seconds, double cost, TimeSpan leaseFor)
    {
        var r = Call(() => _grain.Report(worker, trial, phase, score, seconds, cost, leaseFor.TotalSeconds));
        return new ReportOutcome((Decision)r.Decision, r.LeaseLost, r.Duplicate);
    }

    /// <inheritdoc/>
    public bool Heartbeat(string worker, long trial, TimeSpan leaseFor) => Call(() => _grain.Heartbeat(worker, trial, leaseFor.TotalSeconds));

    /// <inheritdoc/>
    public void Fail(string worker, long trial, string error) => Call(async () =>
    {
        await _grain.Fail(worker, trial, error).ConfigureAwait(false);
        return true;
    });

    /// <inheritdoc/>
    public bool Release(string worker, long trial) => Call(() => _grain.Release(worker, trial));
}
