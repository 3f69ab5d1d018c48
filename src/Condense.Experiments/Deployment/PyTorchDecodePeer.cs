// PyTorch in `condense bench decode`: bench/peers/pytorch_llama_bench.py --serve-rounds, kept running for a whole model
// and thread count, times one round (the prompt in one batched forward into a fresh KV cache, then the teacher-forced
// tokens one at a time) each time it is asked, in its own process, with its own clock. Per-token inter-process calls
// would time the pipe, not PyTorch, so the peer runs the round itself and reports seconds and chosen tokens.
using System.Diagnostics;
using System.Text.Json;

namespace Condense.Experiments.Deployment;

/// <summary>A running PyTorch peer that times decode rounds on request.</summary>
internal sealed class PyTorchDecodePeer : IDisposable
{
    private readonly Process process;
    private readonly System.Text.StringBuilder stderr;   // drained as it comes, so a chatty peer never blocks on a full pipe

    /// <summary>The peer's torch version.</summary>
    public string TorchVersion { get; }

    private PyTorchDecodePeer(Process process, System.Text.StringBuilder stderr)
    {
        this.process = process;
        this.stderr = stderr;
        TorchVersion = ReadJson().GetProperty("torch").GetString() ?? "?";
    }

    /// <summary>Starts <paramref name="script"/> on the Hugging Face folder <paramref name="modelDir"/> with the round's tokens.</summary>
    public static PyTorchDecodePeer Start(string python, string script, string modelDir, int threads, int[] prompt, int[] forced, string workDir)
    {
        var tokens = Path.Combine(workDir, "peer-tokens.json");
        Core.IO.AtomicFile.WriteAllText(tokens, JsonSerializer.Serialize(new { prompt, forced }));
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // One pool of `threads` threads that sleeps between rounds: OpenBLAS's own workers (Debian's torch multiplies
        // through it) and spinning OpenMP threads would otherwise keep a core busy while the other engines are timed.
        string n = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["OMP_NUM_THREADS"] = n;
        psi.Environment["OPENBLAS_NUM_THREADS"] = n;
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        foreach (var arg in new[] { script, "--model-dir", modelDir, "--threads", n, "--serve-rounds", tokens })
            psi.ArgumentList.Add(arg);
        var process = Peers.PeerProcess.Start(psi);
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (errors) errors.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        try
        {
            return new PyTorchDecodePeer(process, errors);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>One timed round: prefill seconds, decode seconds and the argmax after the prompt and after each forced token.</summary>
    public (double Prefill, double Decode, int[] Chosen) Round()
    {
        process.StandardInput.WriteLine("round");
        process.StandardInput.Flush();
        var json = ReadJson();
        return (json.GetProperty("prefill_s").GetDouble(), json.GetProperty("decode_s").GetDouble(),
            json.GetProperty("chosen").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    private JsonElement ReadJson()
    {
        while (process.StandardOutput.ReadLine() is string line)
            if (line.TrimStart().StartsWith('{')) return JsonDocument.Parse(line).RootElement.Clone();
        process.WaitForExit();
        string text;
        lock (stderr) text = stderr.ToString();
        throw Peers.PeerProcess.Failure(process.StartInfo.FileName, process.ExitCode, text);
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.WriteLine("quit");
                process.StandardInput.Flush();
                if (!process.WaitForExit(10_000)) process.Kill();
            }
        }
        catch (IOException)
        {
            // the peer already closed its input
        }
        process.Dispose();
    }
}
