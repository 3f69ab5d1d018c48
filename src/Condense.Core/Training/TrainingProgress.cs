using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Condense.Core.Training;

/// <summary>
/// Shows training progress on stderr (stdout stays free for JSON results): a Spectre bar with rate and ETA on
/// a terminal, one plain line every <c>logEvery</c> steps when stderr is redirected (CI logs), or nothing.
/// </summary>
public static class TrainingProgress
{
    /// <summary>Runs <paramref name="body"/>, giving it a callback to report each finished step.</summary>
    public static void Run(ProgressMode mode, string description, long total, long initial, long logEvery,
        Action<Action<StepMetrics>> body)
    {
        if (mode == ProgressMode.Auto) mode = Console.IsErrorRedirected ? ProgressMode.Lines : ProgressMode.Bar;
        switch (mode)
        {
            case ProgressMode.None:
                body(_ => { });
                break;
            case ProgressMode.Lines:
                RunLines(Console.Error, description, total, initial, logEvery, body);
                break;
            default:
                RunBar(description, total, initial, body);
                break;
        }
    }

    internal static void RunLines(TextWriter writer, string description, long total, long initial, long logEvery,
        Action<Action<StepMetrics>> body)
    {
        var clock = Stopwatch.StartNew();
        body(m =>
        {
            if (m.Step % logEvery != 0 && m.Step != total) return;
            var done = m.Step - initial;
            var rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var eta = rate > 0 ? TimeSpan.FromSeconds((total - m.Step) / rate) : TimeSpan.Zero;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{description}] step {m.Step}/{total} ({100.0 * m.Step / total:F1}%) loss {m.Loss:F4} lr {m.LearningRate:0.00e+00} " +
                $"{rate:F2} it/s {m.ItemsPerSecond:F1} items/s eta {FormatSpan(eta)}"));
        });
    }

    private static void RunBar(string description, long total, long initial, Action<Action<StepMetrics>> body)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RateColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, autoStart: true, maxValue: total);
                task.Value = initial;
                body(m =>
                {
                    task.Value = m.Step;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{description} loss {m.Loss:F4}");
                });
                task.StopTask();
            });
    }

    /// <summary>
    /// Progress of work counted in items (e.g. images through a teacher): a bar with rate and ETA, or a line at
    /// every tenth of the work, or nothing. <paramref name="body"/> reports items done as it goes.
    /// </summary>
    public static void RunItems(ProgressMode mode, string description, long total, Action<Action<long>> body)
    {
        if (mode == ProgressMode.Auto) mode = Console.IsErrorRedirected ? ProgressMode.Lines : ProgressMode.Bar;
        if (mode == ProgressMode.None || total <= 0)
        {
            body(_ => { });
            return;
        }
        if (mode == ProgressMode.Lines)
        {
            var clock = Stopwatch.StartNew();
            long done = 0, nextLine = Math.Max(1, total / 10);
            body(n =>
            {
                done += n;
                if (done < nextLine && done < total) return;
                nextLine = done + Math.Max(1, total / 10);
                var rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{description}] {done}/{total} ({100.0 * done / total:F0}%) {rate:F1} items/s eta {FormatSpan(TimeSpan.FromSeconds((total - done) / Math.Max(rate, 1e-9)))}"));
            });
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, autoStart: true, maxValue: total);
                body(n => task.Increment(n));
                task.Value = total;
            });
    }

    internal static string FormatSpan(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";

    /// <summary>Steps per second as Spectre measures it from recent updates.</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is double s ? string.Create(CultureInfo.InvariantCulture, $"{s:F2} it/s") : "-- it/s", new Style(Color.Grey));
    }
}
