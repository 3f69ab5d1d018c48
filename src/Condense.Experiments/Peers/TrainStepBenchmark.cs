// `train-step`: training-step throughput of Condense (in process) against PyTorch (bench/peers/pytorch_train_bench.py
// as a subprocess), alternated round by round so that both see the same background load on a shared machine.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Experiments.Peers;

/// <summary>Settings of one `train-step` run.</summary>
public sealed record TrainStepOptions(
    IReadOnlyList<string> Models,
    int Rounds = 3,
    int Steps = 5,
    int Warmup = 2,
    int Threads = 2,
    int Seed = 0,
    string Python = "/usr/bin/python3",
    string? MarkdownOut = null);

/// <summary>One framework's measurement of one model in one round.</summary>
public sealed record Measurement(
    [property: JsonPropertyName("framework")] string Framework,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("items_per_s")] double ItemsPerS,
    [property: JsonPropertyName("step_ms")] IReadOnlyList<double> StepMs,
    [property: JsonPropertyName("loss_first")] double LossFirst,
    [property: JsonPropertyName("loss_last")] double LossLast);

/// <summary>Both frameworks in one round.</summary>
public sealed record RoundResult(
    [property: JsonPropertyName("round")] int Round,
    [property: JsonPropertyName("condense")] Measurement Condense,
    [property: JsonPropertyName("pytorch")] Measurement PyTorch)
{
    /// <summary>Condense items/s over PyTorch's (above 1: Condense is faster).</summary>
    [JsonPropertyName("ratio")]
    public double Ratio => Condense.ItemsPerS / PyTorch.ItemsPerS;
}

/// <summary>All rounds of one model, with medians.</summary>
public sealed record ModelSummary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("items")] string Items,
    [property: JsonPropertyName("rounds")] IReadOnlyList<RoundResult> Rounds)
{
    /// <summary>Median over rounds of Condense items/s.</summary>
    [JsonPropertyName("condense_items_per_s_median")]
    public double CondenseMedian => TrainStepBenchmark.Median(Rounds.Select(r => r.Condense.ItemsPerS));

    /// <summary>Median over rounds of PyTorch items/s.</summary>
    [JsonPropertyName("pytorch_items_per_s_median")]
    public double PyTorchMedian => TrainStepBenchmark.Median(Rounds.Select(r => r.PyTorch.ItemsPerS));

    /// <summary>Median of the per-round Condense / PyTorch ratios.</summary>
    [JsonPropertyName("ratio_median")]
    public double RatioMedian => TrainStepBenchmark.Median(Rounds.Select(r => r.Ratio));
}

/// <summary>The whole run, as written to artifacts/bench/.</summary>
public sealed record TrainStepSummary(
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("started_utc")] DateTime StartedUtc,
    [property: JsonPropertyName("machine")] string Machine,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("warmup")] int Warmup,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("torchsharp")] string TorchSharp,
    [property: JsonPropertyName("pytorch")] string PyTorch,
    [property: JsonPropertyName("models")] IReadOnlyList<ModelSummary> Models);

/// <summary>The <c>train-step</c> benchmark: training-step throughput of Condense against PyTorch.</summary>
public static class TrainStepBenchmark
{
    private const double LearningRate = 1e-4;
    private const double WeightDecay = 0.05;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>
    /// Measures every model of <paramref name="options"/> in alternating rounds, writes the JSON summary to artifacts/bench/ under
    /// <paramref name="repoRoot"/> (and the Markdown section when asked), and returns the summary.
    /// </summary>
    public static TrainStepSummary Run(TrainStepOptions options, string command, string repoRoot, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var model in options.Models)
            if (!BenchModels.Names.Contains(model))
                throw Condense.Core.InputException.ForOption("Models", $": unknown model '{model}' (known: {string.Join(", ", BenchModels.Names)})");
        if (options.Rounds < 1) throw Condense.Core.InputException.ForOption("Rounds", $"{options.Rounds}: must be at least 1");
        if (options.Steps < 1) throw Condense.Core.InputException.ForOption("Steps", $"{options.Steps}: must be at least 1");
        if (options.Warmup < 0) throw Condense.Core.InputException.ForOption("Warmup", $"{options.Warmup}: must be at least 0");
        if (options.Threads < 1) throw Condense.Core.InputException.ForOption("Threads", $"{options.Threads}: must be at least 1");
        ArgumentNullException.ThrowIfNull(options);
        Condense.Core.Runtime.TorchRuntime.SetThreads(options.Threads);
        var started = DateTime.UtcNow;
        string peer = Path.Combine(repoRoot, "bench", "peers", "pytorch_train_bench.py");
        string pytorchVersion = "";
        var summaries = new List<ModelSummary>();
        foreach (string name in options.Models)
        {
            var rounds = new List<RoundResult>();
            for (int round = 1; round <= options.Rounds; round++)
            {
                var condense = MeasureCondense(name, options);
                var (pytorch, version) = MeasurePyTorch(name, options, peer);
                pytorchVersion = version;
                var result = new RoundResult(round, condense, pytorch);
                rounds.Add(result);
                (log ?? Console.WriteLine)(string.Create(CultureInfo.InvariantCulture, 
                    $"{name,-12} round {round}/{options.Rounds}: Condense {condense.ItemsPerS,9:F1}/s  " +
                    $"PyTorch {pytorch.ItemsPerS,9:F1}/s  ratio {result.Ratio:F2}  " +
                    $"(loss {condense.LossFirst:F3}->{condense.LossLast:F3} vs " +
                    $"{pytorch.LossFirst:F3}->{pytorch.LossLast:F3})"));
            }
            summaries.Add(new ModelSummary(name, name == "vit_tiny" ? "images" : "tokens", rounds));
        }

        var summary = new TrainStepSummary(command, started, Condense.Core.Runtime.MachineInfo.Describe(), options.Threads, options.Warmup,
            options.Steps, typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?", pytorchVersion, summaries);
        Report(summary, options, repoRoot, log);
        return summary;
    }

    /// <summary>Warmup plus timed steps of one model through <see cref="CondenseStep.TrainStep"/>.</summary>
    private static Measurement MeasureCondense(string name, TrainStepOptions options)
    {
        manual_seed(options.Seed);
        using var generator = new Generator((ulong)options.Seed + 1);
        using var bench = BenchModels.Create(name);
        bench.Model.train();
        var trainer = CondenseStep.CreateTrainer(bench, LearningRate, WeightDecay, options.Warmup + options.Steps);
        var losses = new List<double>();
        var stepMs = new List<double>();
        for (int i = 0; i < options.Warmup + options.Steps; i++)
        {
            var (input, target) = bench.MakeBatch(generator);
            using (input)
            using (target)
            {
                long t0 = Stopwatch.GetTimestamp();
                float loss = CondenseStep.TrainStep(trainer, bench, input, target);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                losses.Add(loss);
                if (i >= options.Warmup) stepMs.Add(Math.Round(ms, 2));
            }
        }
        GC.Collect();
        return new Measurement("condense", name, bench.ItemsPerBatch * stepMs.Count / (stepMs.Sum() / 1000.0),
            stepMs, losses[0], losses[^1]);
    }

    /// <summary>The same measurement by the PyTorch peer, in a subprocess.</summary>
    private static (Measurement Result, string Version) MeasurePyTorch(string name, TrainStepOptions options,
        string peer)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        using var doc = PeerProcess.RunJson(options.Python,
            [peer, "--model", name, "--threads", I(options.Threads), "--warmup", I(options.Warmup), "--steps", I(options.Steps), "--seed", I(options.Seed)]);
        var root = doc.RootElement;
        var measurement = new Measurement("pytorch", name, root.GetProperty("items_per_s").GetDouble(),
            root.GetProperty("step_ms").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            root.GetProperty("loss_first").GetDouble(), root.GetProperty("loss_last").GetDouble());
        return (measurement, root.GetProperty("torch").GetString() ?? "?");
    }

    private static void Report(TrainStepSummary summary, TrainStepOptions options, string repoRoot, Action<string>? log)
    {
        (log ?? Console.WriteLine)("");
        (log ?? Console.WriteLine)(MarkdownTable(summary));
        string dir = Path.Combine(repoRoot, "artifacts", "bench");
        Directory.CreateDirectory(dir);
        string json = Path.Combine(dir,
            $"train_step_{summary.StartedUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json");
        File.WriteAllText(json, JsonSerializer.Serialize(summary, JsonOptions));
        (log ?? Console.WriteLine)($"summary: {Path.GetRelativePath(repoRoot, json)}");
        if (options.MarkdownOut is not null)
        {
            Condense.Core.Reports.MarkdownSection.Write(options.MarkdownOut, "train-step", MarkdownDocument(summary));
            GeneratedDoc.WriteResultsJson(options.MarkdownOut, "train-step", summary);
            (log ?? Console.WriteLine)($"markdown: {options.MarkdownOut}");
        }
    }

    /// <summary>The results table: median items/s of both frameworks and the median per-round ratio, one row per model.</summary>
    public static string MarkdownTable(TrainStepSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var sb = new StringBuilder();
        sb.AppendLine("| Model | Items | Condense items/s | PyTorch items/s | Condense / PyTorch | Rounds |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var m in summary.Models)
        {
            string perRound = string.Join(", ", m.Rounds.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Ratio:F2}")));
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, 
                $"| {m.Model} | {m.Items} | {m.CondenseMedian:F1} | {m.PyTorchMedian:F1} | " +
                $"**{m.RatioMedian:F2}** ({perRound}) | {m.Rounds.Count} |"));
        }
        return sb.ToString();
    }

    /// <summary>The benchmark's Markdown section: setup, command, machine, results table and how to read it.</summary>
    public static string MarkdownDocument(TrainStepSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var sb = new StringBuilder();
        sb.AppendLine("## Training-step throughput: Condense vs PyTorch");
        sb.AppendLine();
        sb.AppendLine("One fp32 training step (zero_grad, forward, loss, backward, `clip_grad_norm_(1.0)`, AdamW with");
        sb.AppendLine("lr 1e-4 and weight decay 0.05 on 2-D+ tensors) on random data, the same models in both frameworks:");
        sb.AppendLine();
        sb.AppendLine("- `vit_tiny`: ViT-Tiny/16 (dim 192, depth 12, 3 heads), 224 px, batch 32, 1000 classes;");
        sb.AppendLine("  items are images.");
        sb.AppendLine("- `llama_small`: LLaMA with dim 288, hidden 768, 6 layers, 6 heads, 6 kv heads, vocab 32000,");
        sb.AppendLine("  untied, batch 8 x 256 tokens, next-token cross-entropy; items are tokens.");
        sb.AppendLine();
        sb.AppendLine("Condense runs in process through its own training loop (`Trainer.TrainStep`, called from");
        sb.AppendLine("`bench/Condense.Bench/CondenseStep.cs`);");
        sb.AppendLine("PyTorch runs `bench/peers/pytorch_train_bench.py` as a subprocess right after it, round by");
        sb.AppendLine("round, with the same thread count, warmup and timed steps.");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(summary.Command);
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- Machine: {summary.Machine}; {summary.Threads} intra-op threads in both."));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- Condense: TorchSharp-cpu {summary.TorchSharp} (libtorch 2.10). " +
            $"PyTorch: {summary.PyTorch} (Debian, OpenBLAS)."));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- {summary.Warmup} warmup + {summary.Steps} timed steps per round; " +
            $"run {summary.StartedUtc:yyyy-MM-dd HH:mm} UTC."));
        sb.AppendLine();
        sb.Append(MarkdownTable(summary));
        sb.AppendLine();
        sb.AppendLine("Items/s are medians over rounds; the ratio column is the median of the per-round ratios");
        sb.AppendLine("(listed in brackets). The machine is shared with other builds, so absolute numbers are noisy");
        sb.AppendLine("(step times vary by up to 3x); alternating the frameworks round by round exposes both to the");
        sb.AppendLine("same load, and the ratio is what is compared.");
        sb.AppendLine();
        sb.AppendLine("Targets: a ratio of at least 1.5 for `vit_tiny` and 1.2 for `llama_small`. Condense's attention");
        sb.AppendLine("is `scaled_dot_product_attention` (with the causal flag for LLaMA); PyTorch 1.13 has no SDPA, so");
        sb.AppendLine("the peer writes attention out with an explicit causal mask. Most of the gap is libtorch 2.10");
        sb.AppendLine("(MKL, newer oneDNN, AVX-512 kernels) against torch 1.13 with OpenBLAS, not C# against Python.");
        return sb.ToString();
    }

    /// <summary>Median of <paramref name="values"/> (mean of the middle two for an even count); NaN when empty.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
