// Runs a PyTorch peer script and reads its result: the last line of stdout that is a JSON object.
using System.Diagnostics;
using System.Text.Json;

namespace Condense.Experiments.Peers;

internal static class PeerProcess
{
    /// <summary>Runs <paramref name="python"/> with <paramref name="args"/>; throws with the peer's stderr on a non-zero exit.</summary>
    public static JsonDocument RunJson(string python, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        using var process = Start(psi);
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw Failure(psi.FileName, process.ExitCode, stderr.Result);
        return JsonDocument.Parse(stdout.Split('\n').Last(l => l.TrimStart().StartsWith('{')));
    }

    /// <summary>Starts a peer; a Python that cannot be run is a one-line error naming it.</summary>
    public static Process Start(ProcessStartInfo psi)
    {
        ArgumentNullException.ThrowIfNull(psi);
        try
        {
            return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new Condense.Core.InputException($"{psi.FileName}: cannot run the PyTorch peer ({e.Message})");
        }
    }

    /// <summary>The error for a peer that ended with <paramref name="exitCode"/>: its last stderr line; a missing module is the user's to install.</summary>
    public static Exception Failure(string python, int exitCode, string stderr)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        var last = stderr.Trim().Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
        if (last.StartsWith("ModuleNotFoundError:", StringComparison.Ordinal))
            return new Condense.Core.InputException($"{python}: the PyTorch peer cannot import a module ({last}); install python3-torch and python3-numpy (CONDENSE_BENCH_PEERS=1 scripts/setup.sh), or give another Python");
        return new InvalidOperationException($"PyTorch peer failed (exit {exitCode}): {last}");
    }
}
