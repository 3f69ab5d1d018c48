// Runs a PyTorch peer script and reads its result: the last line of stdout that is a JSON object.
using System.Diagnostics;
using System.Text.Json;

namespace Condense.Bench;

internal static class PeerProcess
{
    /// <summary>Runs <paramref name="python"/> with <paramref name="args"/>; throws with the peer's stderr on a non-zero exit.</summary>
    public static JsonDocument RunJson(string python, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"PyTorch peer failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
        return JsonDocument.Parse(stdout.Split('\n').Last(l => l.TrimStart().StartsWith('{')));
    }
}
