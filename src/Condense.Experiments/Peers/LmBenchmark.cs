// `lm`: LLaMA inference throughput of Condense (in process) against PyTorch (bench/peers/pytorch_llama_bench.py as a
// subprocess) on the same weights: a no-grad forward over a training-shaped (batch, seq) token grid, and greedy
// generation from BOS with a KV cache (batch 1). Frameworks alternate round by round, so both see the same load.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Condense.Core.IO;
using Condense.Language.Checkpoints;
using Condense.Language.Generation;
using Condense.Language.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Experiments.Peers;

/// <summary>Settings of one `lm` run.</summary>
public sealed record LmOptions(
    IReadOnlyList<string> Models,
    int Rounds = 3,
    int Batch = 8,
    int Seq = 256,
    int Warmup = 1,
    int Steps = 3,
    int GenTokens = 128,
    int Threads = 1,
    string Python = "/usr/bin/python3",
    string? MarkdownOut = null);

/// <summary>One framework's numbers for one model in one round.</summary>
public sealed record LmMeasurement(double ForwardTokensPerS, double ForwardNll, double DecodeTokensPerS, IReadOnlyList<int> Generated);

/// <summary>Both frameworks in one round.</summary>
public sealed record LmRound(int Round, LmMeasurement Condense, LmMeasurement PyTorch)
{
    /// <summary>Condense forward throughput over PyTorch's (above 1: Condense is faster).</summary>
    public double ForwardRatio => Condense.ForwardTokensPerS / PyTorch.ForwardTokensPerS;
    /// <summary>Condense decoding throughput over PyTorch's (above 1: Condense is faster).</summary>
    public double DecodeRatio => Condense.DecodeTokensPerS / PyTorch.DecodeTokensPerS;
}

/// <summary>All rounds of one model.</summary>
public sealed record LmModelSummary(string Model, string Description, long Parameters, IReadOnlyList<LmRound> Rounds);

/// <summary>What one `lm` run measured.</summary>
public sealed record LmBenchmarkResult(string Command, DateTime Started, LmOptions Options, IReadOnlyList<LmModelSummary> Models);

/// <summary>The <c>lm</c> benchmark: LLaMA forward and decoding throughput of Condense against PyTorch on the same weights.</summary>
public static class LmBenchmark
{
    /// <summary>The model names <see cref="LmOptions.Models"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["stories260K", "llama_d288"];

    /// <summary>stories15M's shape (dim 288, 6 layers, 6 heads, vocab 32000), untied, randomly initialised.</summary>
    private static readonly LlamaConfig D288 = new(Dim: 288, HiddenDim: 768, NLayers: 6, NHeads: 6, NKvHeads: 6,
        VocabSize: 32000, MaxSeqLen: 256);

    /// <summary>
    /// Measures every model of <paramref name="options"/> in alternating rounds, writes the JSON summary to artifacts/bench/ under
    /// <paramref name="repoRoot"/> (and the Markdown section when asked), and returns the result.
    /// </summary>
    public static LmBenchmarkResult Run(LmOptions options, string command, string repoRoot, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var model in options.Models)
            if (!Names.Contains(model))
                throw Condense.Core.InputException.ForOption("Models", $": unknown model '{model}' (known: {string.Join(", ", Names)})");
        if (options.Rounds < 1) throw Condense.Core.InputException.ForOption("Rounds", $"{options.Rounds}: must be at least 1");
        if (options.Batch < 1) throw Condense.Core.InputException.ForOption("Batch", $"{options.Batch}: must be at least 1");
        if (options.Seq < 2) throw Condense.Core.InputException.ForOption("Seq", $"{options.Seq}: must be at least 2");
        if (options.Steps < 1) throw Condense.Core.InputException.ForOption("Steps", $"{options.Steps}: must be at least 1");
        if (options.Warmup < 0) throw Condense.Core.InputException.ForOption("Warmup", $"{options.Warmup}: must be at least 0");
        if (options.GenTokens < 2) throw Condense.Core.InputException.ForOption("GenTokens", $"{options.GenTokens}: must be at least 2");
        if (options.Threads < 1) throw Condense.Core.InputException.ForOption("Threads", $"{options.Threads}: must be at least 1");
        ArgumentNullException.ThrowIfNull(options);
        Condense.Core.Runtime.TorchRuntime.SetThreads(options.Threads);
        var started = DateTime.UtcNow;
        string peer = Path.Combine(repoRoot, "bench", "peers", "pytorch_llama_bench.py");
        string pytorchVersion = "?";
        var summaries = new List<LmModelSummary>();
        foreach (var name in options.Models)
        {
            var (dir, description) = ModelDir(name, repoRoot);
            using var model = LlamaCheckpoint.Load(dir);
            long parameters = model.parameters().Sum(p => p.numel());
            int seq = Math.Min(options.Seq, model.Config.MaxSeqLen);
            int gen = Math.Min(options.GenTokens, model.Config.MaxSeqLen);
            var rounds = new List<LmRound>();
            for (int round = 1; round <= options.Rounds; round++)
            {
                var condense = MeasureCondense(model, options, seq, gen);
                var (pytorch, version) = MeasurePyTorch(dir, options, seq, gen, peer);
                pytorchVersion = version;
                var r = new LmRound(round, condense, pytorch);
                rounds.Add(r);
                (log ?? Console.WriteLine)(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-12} round {round}/{options.Rounds}: forward {condense.ForwardTokensPerS,8:F0} vs {pytorch.ForwardTokensPerS,8:F0} tok/s " +
                    $"(x{r.ForwardRatio:F2}), decode {condense.DecodeTokensPerS,6:F1} vs {pytorch.DecodeTokensPerS,6:F1} tok/s (x{r.DecodeRatio:F2}), " +
                    $"nll {condense.ForwardNll:F4} vs {pytorch.ForwardNll:F4}, same greedy tokens: {SamePrefix(condense.Generated, pytorch.Generated)}/{condense.Generated.Count}"));
            }
            summaries.Add(new LmModelSummary(name, description, parameters, rounds));
        }
        string md = Markdown(summaries, options, command, started, pytorchVersion);
        (log ?? Console.WriteLine)("");
        (log ?? Console.WriteLine)(md);
        string outDir = Path.Combine(repoRoot, "artifacts", "bench");
        Directory.CreateDirectory(outDir);
        string json = Path.Combine(outDir, $"lm_{started.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new { command, started, options, summaries }, new JsonSerializerOptions { WriteIndented = true }));
        (log ?? Console.WriteLine)($"summary: {Path.GetRelativePath(repoRoot, json)}");
        if (options.MarkdownOut is not null)
        {
            Condense.Core.Reports.MarkdownSection.Write(options.MarkdownOut, "lm-runtime", md);
            GeneratedDoc.WriteResultsJson(options.MarkdownOut, "lm-runtime", new { command, started, options, summaries });
            (log ?? Console.WriteLine)($"markdown: {options.MarkdownOut}");
        }
        return new LmBenchmarkResult(command, started, options, summaries);
    }

    /// <summary>The Hugging Face directory both frameworks load; the random d288 model is written once, seed 0.</summary>
    private static (string Dir, string Description) ModelDir(string name, string repoRoot)
    {
        if (name == "stories260K")
            return (AssetPaths.Require("models/hf/stories260K"), "TinyStories stories260K (dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512, tied), ../shared/models/hf/stories260K");
        if (name != "llama_d288") throw new ArgumentException($"unknown model '{name}'; known: {string.Join(", ", Names)}");
        string dir = Path.Combine(repoRoot, "artifacts", "bench", "lm_llama_d288");
        if (!File.Exists(Path.Combine(dir, HfLlamaCheckpoint.ConfigFile)))
        {
            manual_seed(0);
            using var model = new LlamaForCausalLM(D288);
            HfLlamaCheckpoint.Write(model, dir);
        }
        return (dir, "random-init LLaMA (dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, untied; stories15M's shape), seed 0, written as HF safetensors");
    }

    /// <summary>The deterministic (batch, seq) token grid of the peer: (1 + 7919 b + 104729 t) mod V.</summary>
    private static Tensor GridTokens(int batch, int seq, int vocab)
    {
        var b = arange(batch, ScalarType.Int64).view(-1, 1);
        var t = arange(seq, ScalarType.Int64).view(1, -1);
        return (1 + 7919 * b + 104729 * t).remainder(vocab);          // (B, T)
    }

    private static LmMeasurement MeasureCondense(LlamaForCausalLM model, LmOptions options, int seq, int gen)
    {
        model.eval();
        double nll;
        var stepMs = new List<double>();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var tokens = GridTokens(options.Batch, seq, model.Config.VocabSize);
            Tensor logits = tokens;
            for (int i = 0; i < options.Warmup + options.Steps; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                using (var step = NewDisposeScope())
                {
                    logits = model.call(tokens).MoveToOuterDisposeScope();     // (B, T, V)
                }
                if (i >= options.Warmup) stepMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            nll = nn.functional.cross_entropy(logits.narrow(1, 0, seq - 1).reshape(-1, model.Config.VocabSize),
                tokens.narrow(1, 1, seq - 1).reshape(-1)).item<float>();
        }
        LlamaGenerator.Generate(model, [1], Math.Min(8, gen), new SamplingOptions(Temperature: 0));   // untimed warmup (JIT)
        var result = LlamaGenerator.Generate(model, [1], gen, new SamplingOptions(Temperature: 0));
        GC.Collect();
        return new LmMeasurement((double)options.Batch * seq * options.Steps / (stepMs.Sum() / 1000), nll,
            (result.Tokens.Count - 2) / result.DecodeSeconds, result.Tokens);
    }

    private static (LmMeasurement, string Version) MeasurePyTorch(string dir, LmOptions options, int seq, int gen, string peer)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        using var doc = PeerProcess.RunJson(options.Python, [peer, "--model-dir", dir, "--threads", I(options.Threads),
            "--batch", I(options.Batch), "--seq", I(seq), "--warmup", I(options.Warmup), "--steps", I(options.Steps), "--gen-tokens", I(gen)]);
        var root = doc.RootElement;
        return (new LmMeasurement(root.GetProperty("forward_tokens_per_s").GetDouble(), root.GetProperty("forward_nll").GetDouble(),
                root.GetProperty("decode_tokens_per_s").GetDouble(),
                root.GetProperty("generated").EnumerateArray().Select(e => e.GetInt32()).ToArray()),
            root.GetProperty("torch").GetString() ?? "?");
    }

    private static int SamePrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = 0;
        while (n < a.Count && n < b.Count && a[n] == b[n]) n++;
        return n;
    }

    private static string Markdown(List<LmModelSummary> models, LmOptions o, string command, DateTime started, string pytorch)
    {
        var sb = new StringBuilder();
        string F(double v, string fmt) => v.ToString(fmt, CultureInfo.InvariantCulture);
        sb.AppendLine("## LLaMA inference throughput: Condense vs PyTorch");
        sb.AppendLine();
        sb.AppendLine("Same weights in both (each framework loads the same Hugging Face safetensors directory), fp32, no grad:");
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"- **forward**: logits of a training-shaped batch ({o.Batch} x seq {o.Seq}, or the model's sequence length if shorter) of a fixed token grid; tokens/s over {o.Steps} timed passes after {o.Warmup} warmup."));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"- **decode**: greedy generation from BOS with a KV cache, batch 1, {o.GenTokens} tokens; tokens/s of the one-token steps after the first, after an untimed 8-token warmup generation."));
        sb.AppendLine();
        sb.AppendLine("Condense runs in process (`LlamaForCausalLM`, `LlamaGenerator`); PyTorch runs `bench/peers/pytorch_llama_bench.py`");
        sb.AppendLine("(the same architecture written out in torch, preallocated KV cache, RoPE table made once) as a subprocess right");
        sb.AppendLine("after it, round by round, with the same thread count.");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(command);
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- Machine: {Condense.Core.Runtime.MachineInfo.Describe()}; {o.Threads} intra-op thread(s) in both."));
        sb.AppendLine($"- Condense: TorchSharp-cpu {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch 2.10). PyTorch: {pytorch} (Debian, OpenBLAS).");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- Run {started:yyyy-MM-dd HH:mm} UTC, {o.Rounds} alternated rounds."));
        sb.AppendLine();
        sb.AppendLine("| Model | Params | Workload | Condense tok/s | PyTorch tok/s | Condense / PyTorch (per round) |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|");
        foreach (var m in models)
        {
            foreach (var (label, c, p, ratio) in new (string, Func<LmRound, double>, Func<LmRound, double>, Func<LmRound, double>)[]
                     {
                         ("forward", r => r.Condense.ForwardTokensPerS, r => r.PyTorch.ForwardTokensPerS, r => r.ForwardRatio),
                         ("decode (KV cache)", r => r.Condense.DecodeTokensPerS, r => r.PyTorch.DecodeTokensPerS, r => r.DecodeRatio),
                     })
            {
                string perRound = string.Join(", ", m.Rounds.Select(r => F(ratio(r), "F2")));
                sb.AppendLine($"| {m.Model} | {F(m.Parameters / 1e6, "F2")}M | {label} | {F(Median(m.Rounds.Select(c)), "F0")} | " +
                    $"{F(Median(m.Rounds.Select(p)), "F0")} | **{F(Median(m.Rounds.Select(ratio)), "F2")}** ({perRound}) |");
            }
        }
        sb.AppendLine();
        sb.AppendLine("Medians over rounds; the ratio is the median of the per-round ratios. Agreement checks from the last round:");
        sb.AppendLine();
        foreach (var m in models)
        {
            var last = m.Rounds[^1];
            sb.AppendLine($"- {m.Model} ({m.Description}): forward NLL on the grid {F(last.Condense.ForwardNll, "F5")} (Condense) vs " +
                $"{F(last.PyTorch.ForwardNll, "F5")} (PyTorch); greedy tokens identical for the first " +
                $"{SamePrefix(last.Condense.Generated, last.PyTorch.Generated)} of {last.Condense.Generated.Count} (BOS included).");
        }
        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values) => TrainStepBenchmark.Median(values);
}
