using System.Diagnostics;
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
    public static Process Start(string[] args, bool defaultSigint)
    {
        var psi = new ProcessStartInfo(defaultSigint ? "env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (defaultSigint)
        {
            psi.ArgumentList.Add("--default-signal=INT");
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "condense.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        return Process.Start(psi)!;
    }

    public static Result Run(params string[] args)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"condense {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
