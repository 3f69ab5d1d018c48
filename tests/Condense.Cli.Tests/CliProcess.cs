using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Condense.Cli.Tests;

/// <summary>Runs the real <c>condense</c> program (built next to the tests) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement;
    }

    public static Process Start(params string[] args) => Start(args, defaultSigint: false);

    /// <param name="args">The command line.</param>
    /// <param name="defaultSigint">Start the program with SIGINT at its default disposition (coreutils
    /// <c>env --default-signal</c>): a test host started as a background job inherits SIGINT ignored, passes that on,
    /// and a program started with SIGINT ignored rightly keeps ignoring it.</param>
    public static Process Start(string[] args, bool defaultSigint) => Start(args, defaultSigint, null, new Dictionary<string, string?>());

    private static Process Start(string[] args, bool defaultSigint, string? workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var psi = new ProcessStartInfo(defaultSigint ? "env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var (k, v) in environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        if (defaultSigint)
        {
            psi.ArgumentList.Add("--default-signal=INT");
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "condense.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        // Test classes run in parallel, each starting programs: one libtorch thread each keeps 2 cores from being
        // oversubscribed (OpenMP threads that spin-wait for each other slowed a 17-second run past 5 minutes).
        psi.Environment.TryAdd("OMP_NUM_THREADS", "1");
        return Process.Start(psi)!;
    }

    public static Result Run(params string[] args) => RunWith(null, new Dictionary<string, string?>(), args);

    /// <summary>Runs the program in <paramref name="workingDirectory"/> (null: the test's) with <paramref name="environment"/>
    /// added (a null value removes the variable).</summary>
    public static Result RunWith(string? workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var p = Start(args, defaultSigint: false, workingDirectory, environment);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"condense {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>
    /// Starts the program as a terminal user's process (SIGINT at its default), sends <paramref name="signal"/> once
    /// a line of standard error contains <paramref name="marker"/>, and waits for the exit.
    /// </summary>
    public static Result RunAndSignal(string[] args, string marker, int signal)
    {
        using var p = Start(args, defaultSigint: true);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var before = new System.Text.StringBuilder();
        string? line;
        while ((line = p.StandardError.ReadLine()) is not null)
        {
            before.AppendLine(line);
            if (line.Contains(marker, StringComparison.Ordinal)) break;
        }
        if (line is null) throw new InvalidOperationException($"'{marker}' never appeared; stderr:\n{before}");
        if (Kill(p.Id, signal) != 0) throw new InvalidOperationException($"kill({p.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        var rest = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"condense {string.Join(' ', args)} did not exit within 2 minutes of signal {signal}");
        }
        return new Result(p.ExitCode, stdout.Result, before + rest);
    }
}
