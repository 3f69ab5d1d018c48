// The Optuna-style face of a trial: the objective reads its hyperparameters and reports after each phase; a false
// answer means "stop now" (the scheduler stopped or paused it, or the worker lost its lease).
// Deviation from Optuna: the search space is declared with the study (not defined by run), so trial n's configuration
// is a function of the study seed and n alone, and a restarted study or another machine draws the same values.
using Condense.Search.Studies;

namespace Condense.Search.Running;

/// <summary>A running trial, handed to an objective by <see cref="LocalRunner"/>.</summary>
public sealed class Trial
{
    private readonly Func<int, double, double, double, ReportOutcome> _report;
    private readonly System.Diagnostics.Stopwatch _phaseClock = System.Diagnostics.Stopwatch.StartNew();

    internal Trial(TrialContext context, int startPhase, Func<int, double, double, double, ReportOutcome> report)
    {
        Context = context;
        StartPhase = startPhase;
        _report = report;
    }

    /// <summary>Number, configuration, seed, phases and checkpoint folder.</summary>
    public TrialContext Context { get; }

    /// <summary>The trial's number.</summary>
    public long Number => Context.Number;

    /// <summary>The first phase to run now: above 1, resume from the checkpoint.</summary>
    public int StartPhase { get; }

    /// <summary>The last phase.</summary>
    public int Phases => Context.Phases;

    /// <summary>The last decision, once reported.</summary>
    public ReportOutcome? LastOutcome { get; private set; }

    /// <summary>A real or integer hyperparameter.</summary>
    public double Float(string name) => Context.Config[name].AsDouble;

    /// <summary>An integer hyperparameter.</summary>
    public long Int(string name) => Context.Config[name].AsLong;

    /// <summary>A categorical hyperparameter.</summary>
    public string Choice(string name) => Context.Config[name].Text ?? throw new InvalidOperationException($"'{name}' is numeric, not categorical");

    /// <summary>Reports <paramref name="phase"/>'s <paramref name="score"/>; true when the trial should run the next phase.</summary>
    public bool Report(int phase, double score, double cost = 0)
    {
        var seconds = _phaseClock.Elapsed.TotalSeconds;
        var outcome = _report(phase, score, seconds, cost);
        _phaseClock.Restart();
        LastOutcome = outcome;
        return outcome.KeepGoing;
    }
}
