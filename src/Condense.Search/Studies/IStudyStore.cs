namespace Condense.Search.Studies;

/// <summary>
/// A study's state, loaded for one atomic operation. The operation changes trials (marking them dirty), adds reports
/// and may replace the scheduler state; the store writes all of it in one transaction or none of it.
/// </summary>
public sealed class StudySnapshot(StudyDefinition definition, string schedulerState, long nextTrial, long nextReport,
    Dictionary<long, TrialRecord> trials, Func<long, int, ReportRecord?> findReport)
{
    private readonly List<ReportRecord> _added = [];
    private readonly HashSet<long> _dirty = [];

    /// <summary>The study's definition.</summary>
    public StudyDefinition Definition { get; } = definition;
    /// <summary>The scheduler's state (JSON).</summary>
    public string SchedulerState { get; set; } = schedulerState;
    /// <summary>The number the next new trial gets.</summary>
    public long NextTrial { get; set; } = nextTrial;
    /// <summary>The sequence number of the next report.</summary>
    public long NextReport { get; private set; } = nextReport;
    /// <summary>Every trial by number.</summary>
    public IReadOnlyDictionary<long, TrialRecord> Trials => trials;

    /// <summary>Adds a new trial.</summary>
    public void Add(TrialRecord trial)
    {
        trials.Add(trial.Number, trial);
        _dirty.Add(trial.Number);
    }

    /// <summary>Marks a changed trial for writing.</summary>
    public void Changed(TrialRecord trial) => _dirty.Add(trial.Number);

    /// <summary>The report of <paramref name="trial"/> at <paramref name="phase"/>, if any.</summary>
    public ReportRecord? FindReport(long trial, int phase) =>
        _added.FirstOrDefault(r => r.Trial == trial && r.Phase == phase) ?? findReport(trial, phase);

    /// <summary>Records a report (its sequence number is assigned here).</summary>
    public ReportRecord AddReport(ReportRecord report)
    {
        var numbered = report with { Sequence = NextReport++ };
        _added.Add(numbered);
        return numbered;
    }

    /// <summary>The trials changed or added by the operation.</summary>
    public IEnumerable<TrialRecord> DirtyTrials => _dirty.Select(n => trials[n]);

    /// <summary>The reports added by the operation.</summary>
    public IReadOnlyList<ReportRecord> AddedReports => _added;
}

/// <summary>Durable storage of studies: one SQLite file by default; every operation is atomic.</summary>
public interface IStudyStore : IDisposable
{
    /// <summary>Where the store is, for messages (a file path or a server address).</summary>
    string Location { get; }

    /// <summary>The names of the studies in the store.</summary>
    IReadOnlyList<string> Studies();

    /// <summary>The definition of study <paramref name="name"/>, or null when there is none.</summary>
    StudyDefinition? Find(string name);

    /// <summary>Creates a study; its name must be new.</summary>
    void Create(StudyDefinition definition, string schedulerState);

    /// <summary>Loads study <paramref name="name"/>, runs <paramref name="operation"/> on it, and writes what it changed,
    /// atomically (no other operation on the study interleaves, in this process or another).</summary>
    T Update<T>(string name, Func<StudySnapshot, T> operation);

    /// <summary>Every report of study <paramref name="name"/>, in order.</summary>
    IReadOnlyList<ReportRecord> Reports(string name);
}
