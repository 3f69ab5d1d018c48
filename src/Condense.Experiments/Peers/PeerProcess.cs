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
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new Condense.Core.InputException($"{python}: cannot run the PyTorch peer ({e.Message})");
        }
        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var error = stderr.Result.Trim();
            var last = error.Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
            if (last.StartsWith("ModuleNotFoundError:", StringComparison.Ordinal))
                throw new Condense.Core.InputException($"{python}: the PyTorch peer cannot import a module ({last}); install python3-torch and python3-numpy, or give another Python");
            throw new InvalidOperationException($"PyTorch peer failed (exit {process.ExitCode}): {last}");
        }
        return JsonDocument.Parse(stdout.Split('\n').Last(l => l.TrimStart().StartsWith('{')));
    }
}
