// Runs seeded, bounded fuzz cases over the FuzzTargets and sorts each outcome: accepted (the input read and was
// usable), rejected (a one-line InputException or NonFiniteResultException: what a command turns into exit 2 or 1
// with one line), or a failure: any other exception (the CLI's "internal error"), a rejection whose message is not
// one line, or a case that runs past its time limit (a hang). Case i of target t uses Random(Seed, t, i) only, so
// a failing case is reproduced by its numbers alone. Cases run in-process, one at a time.
using System.Diagnostics;
using Condense.Core;
using Condense.Core.IO;

namespace Condense.Experiments.Reliability;

/// <summary>What a fuzz campaign runs.</summary>
/// <param name="Cases">Cases in all, spread round-robin over the targets.</param>
/// <param name="Seed">Campaign seed; with a case's target and index it fixes the mutation.</param>
/// <param name="Targets">Target names (<see cref="FuzzTarget.Name"/>), or null for all.</param>
/// <param name="CaseTimeoutSeconds">A case still running after this long counts as a hang.</param>
/// <param name="KeepFailures">Folder to copy each failing case's input into, or null.</param>
public sealed record FuzzOptions(int Cases = 300, int Seed = 0, IReadOnlyList<string>? Targets = null,
    double CaseTimeoutSeconds = 30, string? KeepFailures = null);

/// <summary>How one case ended.</summary>
public enum FuzzOutcome
{
    /// <summary>The mutated input was read and used without error.</summary>
    Accepted,

    /// <summary>Refused with one clear line.</summary>
    Rejected,

    /// <summary>An exception that is not an input error (the CLI would say "internal error").</summary>
    Internal,

    /// <summary>Refused, but the message is empty or spans several lines.</summary>
    Unclear,

    /// <summary>Still running after the case time limit.</summary>
    Hang,
}

/// <summary>One case: its target, index, mutation, outcome and message.</summary>
public sealed record FuzzCase(string Target, int Index, string Mutation, FuzzOutcome Outcome, string? Message, double Seconds);

/// <summary>Counts for one target.</summary>
public sealed record FuzzTargetSummary(string Target, int Cases, int Accepted, int Rejected, int Failures, double MaxSeconds);

/// <summary>A campaign's result: counts per target and every failing case.</summary>
public sealed record FuzzReport(int Seed, int Cases, IReadOnlyList<FuzzTargetSummary> Targets, IReadOnlyList<FuzzCase> Failures, double Seconds)
{
    /// <summary>Cases that were neither accepted nor cleanly rejected.</summary>
    public int FailureCount => Failures.Count;
}

/// <summary>Runs a fuzz campaign (see the file header).</summary>
public static class FuzzCampaign
{
    /// <summary>Runs <paramref name="options"/>; <paramref name="progress"/> sees each finished case.</summary>
    public static FuzzReport Run(FuzzOptions options, Action<FuzzCase>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Cases < 1) throw InputException.ForOption("Cases", $"{options.Cases}: must be at least 1");
        if (!(options.CaseTimeoutSeconds > 0)) throw InputException.ForOption("CaseTimeoutSeconds", $"{options.CaseTimeoutSeconds}: must be positive");
        var all = FuzzTarget.All();
        var targets = options.Targets is null ? all : options.Targets.Select(name => all.FirstOrDefault(t => t.Name == name)
            ?? throw InputException.ForOption("Targets", $"'{name}' is not a fuzz target (known: {string.Join(", ", all.Select(t => t.Name))})")).ToList();
        if (options.KeepFailures is not null) OutputPaths.RequireWritableDirectory(options.KeepFailures, "KeepFailures");

        var work = Directory.CreateTempSubdirectory("condense-fuzz-");
        var watch = Stopwatch.StartNew();
        var cases = new List<FuzzCase>();
        try
        {
            for (int i = 0; i < options.Cases; i++)
            {
                int t = i % targets.Count, index = i / targets.Count;
                var target = targets[t];
                var folder = Path.Combine(work.FullName, target.Name);
                Directory.CreateDirectory(folder);
                var rng = new Random(CaseSeed(options.Seed, t, index));
                var result = RunCase(target, folder, index, rng, options.CaseTimeoutSeconds);
                cases.Add(result);
                if (result.Outcome is not (FuzzOutcome.Accepted or FuzzOutcome.Rejected) && options.KeepFailures is not null)
                    Keep(target.CasePath(folder), Path.Combine(options.KeepFailures, $"{target.Name}-{index:D5}"));
                progress?.Invoke(result);
                if (result.Outcome == FuzzOutcome.Hang)
                {
                    // the hung case still holds its folder: later cases of this target use a fresh one
                    Directory.Move(folder, folder + $".hung-{index}");
                }
            }
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        var summaries = targets.Select(t =>
        {
            var mine = cases.Where(c => c.Target == t.Name).ToList();
            return new FuzzTargetSummary(t.Name, mine.Count, mine.Count(c => c.Outcome == FuzzOutcome.Accepted),
                mine.Count(c => c.Outcome == FuzzOutcome.Rejected),
                mine.Count(c => c.Outcome is not (FuzzOutcome.Accepted or FuzzOutcome.Rejected)),
                mine.Count == 0 ? 0 : mine.Max(c => c.Seconds));
        }).ToList();
        return new FuzzReport(options.Seed, options.Cases, summaries,
            cases.Where(c => c.Outcome is not (FuzzOutcome.Accepted or FuzzOutcome.Rejected)).ToList(), watch.Elapsed.TotalSeconds);
    }

    // A fixed mix (HashCode.Combine is seeded per process, so it would not reproduce a case in another run).
    private static int CaseSeed(int seed, int target, int index) =>
        unchecked((int)(((uint)seed * 2654435761u) ^ ((uint)(target + 1) * 2246822519u) ^ ((uint)index * 3266489917u)));

    private static FuzzCase RunCase(FuzzTarget target, string folder, int index, Random rng, double timeoutSeconds)
    {
        var mutation = target.Prepare(folder, rng);
        var watch = Stopwatch.StartNew();
        var task = Task.Factory.StartNew(() => target.Run(folder), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (Task.WaitAny([task], TimeSpan.FromSeconds(timeoutSeconds)) != 0)
            return new FuzzCase(target.Name, index, mutation, FuzzOutcome.Hang, $"still running after {timeoutSeconds} s", watch.Elapsed.TotalSeconds);
        double seconds = watch.Elapsed.TotalSeconds;
        return Classify(target.Name, index, mutation, task.Exception?.InnerException, seconds);
    }

    /// <summary>The outcome of a case that ended with <paramref name="error"/> (null: no error).</summary>
    public static FuzzCase Classify(string target, int index, string mutation, Exception? error, double seconds)
    {
        if (error is null) return new FuzzCase(target, index, mutation, FuzzOutcome.Accepted, null, seconds);
        var message = error.Message;
        if (error is InputException or NonFiniteResultException)
        {
            bool clear = message.Trim().Length > 0 && !message.Contains('\n', StringComparison.Ordinal);
            return new FuzzCase(target, index, mutation, clear ? FuzzOutcome.Rejected : FuzzOutcome.Unclear, message, seconds);
        }
        return new FuzzCase(target, index, mutation, FuzzOutcome.Internal, $"{error.GetType().Name}: {message.Split('\n')[0]}", seconds);
    }

    private static void Keep(string source, string destination)
    {
        if (File.Exists(source)) File.Copy(source, destination + Path.GetExtension(source), overwrite: true);
        else if (Directory.Exists(source))
        {
            Directory.CreateDirectory(destination);
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(destination, Path.GetFileName(f)), overwrite: true);
        }
    }
}
