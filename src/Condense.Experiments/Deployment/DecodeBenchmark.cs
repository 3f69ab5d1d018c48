// Batch-1 decoding speed of one LLaMA on three engines in one run: Condense's TorchSharp path, Condense's native engine
// and llama.cpp (LLamaSharp's CPU backend) on a GGUF file Condense writes from the same weights, and, when a Python with
// PyTorch is given, PyTorch itself (bench/peers/pytorch_llama_bench.py on a Hugging Face copy of the weights, one
// process per model and thread count that times each round it is asked for: PyTorchDecodePeer). Rounds alternate the
// engines' order; every engine forwards the same prompt (prefill, one batch where the engine batches) and then the same
// teacher-forced tokens one at a time (decode), choosing the argmax after each, so output length never depends on what
// a model generates. Medians over rounds; ratios per round.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Condense.Core.IO;
using Condense.Language;
using Condense.Language.Export;
using Condense.Language.Generation;
using Condense.Language.Models;
using Condense.Language.Native;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Experiments.Deployment;

/// <summary>How the decode benchmark runs.</summary>
public sealed record DecodeBenchmarkOptions
{
    /// <summary>Models by name: stories260K, llama2xs (shared files), d288 (stories15M's shape) and d1024 (a 0.2B-class shape), random weights for the last two.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["stories260K", "llama2xs", "d288", "d1024"];

    /// <summary>Thread counts (torch intra-op, llama.cpp and native engine threads).</summary>
    public IReadOnlyList<int> Threads { get; init; } = [1];

    /// <summary>Alternated rounds.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Prompt tokens (BOS first).</summary>
    public int PrefillTokens { get; init; } = 64;

    /// <summary>Teacher-forced decode steps.</summary>
    public int DecodeTokens { get; init; } = 128;

    /// <summary>Mask every attention and MLP weight 2:4 by magnitude first and add the native engine on packed 2:4 weights.</summary>
    public bool TwoFour { get; init; }

    /// <summary>
    /// At more than one thread, add the native engine with its products on Parallel.For and the earlier 2^18 threshold
    /// (the ablation of its spinning worker team).
    /// </summary>
    public bool ThreadingAblation { get; init; }

    /// <summary>Where GGUF files and tokenizers for the random models go.</summary>
    public required string WorkDir { get; init; }

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>A Python with PyTorch: adds PyTorch as an engine (null: not run).</summary>
    public string? Python { get; init; }

    /// <summary>The peer script (bench/peers/pytorch_llama_bench.py), required with <see cref="Python"/>.</summary>
    public string? PeerScript { get; init; }
}

/// <summary>One engine on one model and thread count.</summary>
/// <param name="Engine">torch, native or llama.cpp.</param>
/// <param name="PrefillTokensPerSecond">Median over rounds.</param>
/// <param name="DecodeTokensPerSecond">Median over rounds.</param>
/// <param name="DecodePerRound">Decode tokens/s per round.</param>
public sealed record DecodeEngineResult(string Engine, double PrefillTokensPerSecond, double DecodeTokensPerSecond, IReadOnlyList<double> DecodePerRound);

/// <summary>One model at one thread count.</summary>
/// <param name="Model">Name.</param>
/// <param name="Parameters">Parameter count.</param>
/// <param name="Shape">dim/hidden/layers/heads/kv heads/vocab.</param>
/// <param name="Threads">Threads of torch and llama.cpp.</param>
/// <param name="Engines">Per engine.</param>
/// <param name="NativeOverTorch">Decode tokens/s ratio per round.</param>
/// <param name="NativeOverLlamaCpp">Decode tokens/s ratio per round.</param>
/// <param name="GreedyAgree">Whether the three engines chose the same argmax at every decode step of the last round.</param>
public sealed record DecodeBenchmarkRow(string Model, long Parameters, string Shape, int Threads, IReadOnlyList<DecodeEngineResult> Engines,
    IReadOnlyList<double> NativeOverTorch, IReadOnlyList<double> NativeOverLlamaCpp, bool GreedyAgree)
{
    /// <summary>Decode tokens/s ratio per round against PyTorch (null when PyTorch did not run).</summary>
    public IReadOnlyList<double>? NativeOverPyTorch { get; init; }
}

/// <summary>The benchmark's result.</summary>
/// <param name="Rows">Per model and thread count.</param>
/// <param name="PrefillTokens">Prompt length.</param>
/// <param name="DecodeTokens">Decode steps.</param>
/// <param name="Rounds">Rounds.</param>
/// <param name="VectorPath">The native engine's SIMD width.</param>
/// <param name="Machine">Processor count and OS.</param>
public sealed record DecodeBenchmarkResult(IReadOnlyList<DecodeBenchmarkRow> Rows, int PrefillTokens, int DecodeTokens, int Rounds, string VectorPath, string Machine)
{
    /// <summary>The PyTorch peer's version (null when it did not run).</summary>
    public string? PyTorchVersion { get; init; }
}

/// <summary>Runs the decode benchmark.</summary>
public static class DecodeBenchmark
{
    private interface IEngine
    {
        string Name { get; }
        int Prefill(int[] prompt);
        int Step(int token);
    }

    /// <summary>Runs every model at every thread count.</summary>
    public static DecodeBenchmarkResult Run(DecodeBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var log = options.Log ?? (_ => { });
        Directory.CreateDirectory(options.WorkDir);
        var rows = new List<DecodeBenchmarkRow>();
        string vectorPath = "";
        string? pytorchVersion = null;
        if (options.Python is not null && (options.PeerScript is null || !File.Exists(options.PeerScript)))
            throw Condense.Core.InputException.ForOption("PeerScript", $"{options.PeerScript}: the PyTorch peer script was not found");
        foreach (var name in options.Models)
        {
            var (model, tokenizer) = Load(name, options.WorkDir);
            using var _ = model;
            if (options.TwoFour) MaskTwoFour(model);
            var config = model.Config;
            int positions = options.PrefillTokens + options.DecodeTokens;
            if (positions > config.MaxSeqLen) throw new ArgumentException($"prefill + decode tokens ({positions}) exceed {name}'s sequence length {config.MaxSeqLen}");
            var gguf = Path.Combine(options.WorkDir, $"{name}.gguf");
            LlamaGgufExport.Write(model, tokenizer, gguf, GgufDtype.F32, name);
            vectorPath = NativeKernels.Resolve(VectorPath.Auto).ToString();
            var rng = new Random(1234);
            var prompt = new[] { Llama2cTokenizer.Bos }.Concat(Enumerable.Range(1, options.PrefillTokens - 1).Select(_ => rng.Next(3, config.VocabSize))).ToArray();
            var forced = Enumerable.Range(0, options.DecodeTokens).Select(_ => rng.Next(3, config.VocabSize)).ToArray();
            string? hfDir = null;
            if (options.Python is not null)
            {
                hfDir = Path.Combine(options.WorkDir, $"{name}-hf");
                Condense.Language.Checkpoints.HfLlamaCheckpoint.Write(model, hfDir);
            }
            foreach (int threads in options.Threads)
            {
                Condense.Core.Runtime.TorchRuntime.SetThreads(threads);
                using var cpp = new LlamaCppModel(gguf, positions, threads, f32KvCache: false);   // llama.cpp as users run it: f16 KV cache
                var engines = new List<IEngine> { new TorchEngine(model, positions), new NativeEngine(NativeLlama.FromModel(model, threads: threads, packTwoFour: false)), new CppEngine(cpp) };
                if (options.TwoFour) engines.Add(new NativeEngine(NativeLlama.FromModel(model, threads: threads), "native 2:4"));
                if (options.ThreadingAblation && threads > 1)
                    engines.Add(new NativeEngine(NativeLlama.FromModel(model, threads: threads, packTwoFour: false, spinningWorkers: false), ParallelForEngine));
                using var peer = options.Python is null ? null
                    : PyTorchDecodePeer.Start(options.Python, options.PeerScript!, hfDir!, threads, prompt, forced, options.WorkDir);
                pytorchVersion ??= peer?.TorchVersion;
                var runners = engines.Select(e => (e.Name, Run: (Func<(double, double, int[])>)(() => Time(e, prompt, forced)))).ToList();
                if (peer is not null) runners.Add(("pytorch", peer.Round));
                var prefill = runners.ToDictionary(e => e.Name, _ => new List<double>());
                var decode = runners.ToDictionary(e => e.Name, _ => new List<double>());
                var choices = new Dictionary<string, int[]>();
                foreach (var runner in runners) runner.Run();   // warm-up: JIT tiers, caches, llama.cpp's buffers, PyTorch's allocator
                for (int round = 0; round < options.Rounds; round++)
                    for (int i = 0; i < runners.Count; i++)
                    {
                        var runner = runners[(i + round) % runners.Count];
                        var (p, d, chosen) = runner.Run();
                        prefill[runner.Name].Add(options.PrefillTokens / p);
                        decode[runner.Name].Add(options.DecodeTokens / d);
                        choices[runner.Name] = chosen;
                    }
                var results = runners.Select(e => new DecodeEngineResult(e.Name, Median(prefill[e.Name]), Median(decode[e.Name]), decode[e.Name])).ToList();
                bool agree = choices.Values.All(c => c.SequenceEqual(choices["torch"]));
                var row = new DecodeBenchmarkRow(name, config.ParameterCount(),
                    $"{config.Dim}/{config.HiddenDim}/{config.NLayers}/{config.NHeads}/{config.NKvHeads}/{config.VocabSize}", threads, results,
                    decode["native"].Zip(decode["torch"], (a, b) => a / b).ToList(), decode["native"].Zip(decode["llama.cpp"], (a, b) => a / b).ToList(), agree)
                {
                    NativeOverPyTorch = peer is null ? null : decode["native"].Zip(decode["pytorch"], (a, b) => a / b).ToList(),
                };
                rows.Add(row);
                log($"{name} threads {threads}: decode tok/s " +
                    string.Join(", ", results.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Engine} {r.DecodeTokensPerSecond:F0}"))));
            }
        }
        return new DecodeBenchmarkResult(rows, options.PrefillTokens, options.DecodeTokens, options.Rounds, vectorPath,
            $"{Environment.ProcessorCount} logical processors, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}")
        {
            PyTorchVersion = pytorchVersion,
        };
    }

    // The threading ablation's engine name.
    private const string ParallelForEngine = "native on Parallel.For";

    /// <summary>The result as a Markdown table.</summary>
    public static string Markdown(DecodeBenchmarkResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        bool twoFour = result.Rows.Any(r => r.Engines.Any(e => e.Engine == "native 2:4"));
        bool threading = result.Rows.Any(r => r.Engines.Any(e => e.Engine == ParallelForEngine));
        md.AppendLine(inv, $"Batch 1, f32 weights{(twoFour ? " (attention and MLP projections masked 2:4 by magnitude; torch, native and llama.cpp run them dense with zeros)" : "")}, {result.PrefillTokens}-token prompt then {result.DecodeTokens} teacher-forced decode steps (argmax after each); median of {result.Rounds} rounds after one untimed warm-up run per engine, engines alternated. Native engine: {result.VectorPath}, large products split over the threads, prompt in blocks of {NativeLlama.BlockTokens} positions; llama.cpp with its default f16 KV cache. {result.Machine}.");
        md.AppendLine();
        bool pytorch = result.PyTorchVersion is not null;
        if (pytorch) md.AppendLine(inv, $"PyTorch {result.PyTorchVersion} runs bench/peers/pytorch_llama_bench.py in its own process on a Hugging Face copy of the weights (prompt in one batch, attention written out: torch 1.13 has no fused attention), timing each round itself.").AppendLine();
        md.AppendLine("| model | params | threads | torch decode tok/s | native | llama.cpp | native / torch | native / llama.cpp | torch prefill tok/s | native | llama.cpp | same argmax |"
            + (twoFour ? " native 2:4 decode tok/s | 2:4 / dense native |" : "") + (threading ? " native on Parallel.For decode tok/s | native / Parallel.For |" : "") + (pytorch ? " PyTorch decode tok/s | PyTorch prefill tok/s | native / PyTorch |" : ""));
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|" + (twoFour ? "---|---|" : "") + (threading ? "---|---|" : "") + (pytorch ? "---|---|---|" : ""));
        foreach (var r in result.Rows)
        {
            var e = r.Engines.ToDictionary(x => x.Engine);
            md.AppendLine(string.Create(inv, $"| {r.Model} | {r.Parameters / 1e6:F2}M | {r.Threads} | {e["torch"].DecodeTokensPerSecond:F0} | {e["native"].DecodeTokensPerSecond:F0} | {e["llama.cpp"].DecodeTokensPerSecond:F0} | ") + string.Create(inv, $"**{Median(r.NativeOverTorch):F2}** ({string.Join(", ", r.NativeOverTorch.Select(v => v.ToString("F2", inv)))}) | ") + string.Create(inv, $"**{Median(r.NativeOverLlamaCpp):F2}** ({string.Join(", ", r.NativeOverLlamaCpp.Select(v => v.ToString("F2", inv)))}) | ") + string.Create(inv, $"{e["torch"].PrefillTokensPerSecond:F0} | {e["native"].PrefillTokensPerSecond:F0} | {e["llama.cpp"].PrefillTokensPerSecond:F0} | {(r.GreedyAgree ? "yes" : "no")} |")
                + (twoFour ? string.Create(inv, $" {e["native 2:4"].DecodeTokensPerSecond:F0} | **{Median(e["native 2:4"].DecodePerRound.Zip(e["native"].DecodePerRound, (a, b) => a / b).ToList()):F2}** |") : "")
                + (threading ? ParallelForCells(e, inv) : "")
                + (pytorch && r.NativeOverPyTorch is { } overPt ? string.Create(inv, $" {e["pytorch"].DecodeTokensPerSecond:F0} | {e["pytorch"].PrefillTokensPerSecond:F0} | **{Median(overPt):F2}** ({string.Join(", ", overPt.Select(v => v.ToString("F2", inv)))}) |") : ""));
        }
        return md.ToString();
    }

    // The threading ablation's cells: its decode tokens/s and the per-round ratio of the spinning team to it ("–" at one thread).
    private static string ParallelForCells(Dictionary<string, DecodeEngineResult> e, CultureInfo inv)
    {
        if (!e.TryGetValue(ParallelForEngine, out var ablation)) return " – | – |";
        var ratios = e["native"].DecodePerRound.Zip(ablation.DecodePerRound, (a, b) => a / b).ToList();
        return string.Create(inv, $" {ablation.DecodeTokensPerSecond:F0} | **{Median(ratios):F2}** ({string.Join(", ", ratios.Select(v => v.ToString("F2", inv)))}) |");
    }

    private static (double Prefill, double Decode, int[] Chosen) Time(IEngine engine, int[] prompt, int[] forced)
    {
        var chosen = new int[forced.Length + 1];
        var watch = Stopwatch.StartNew();
        chosen[0] = engine.Prefill(prompt);
        double prefill = watch.Elapsed.TotalSeconds;
        watch.Restart();
        for (int i = 0; i < forced.Length; i++) chosen[i + 1] = engine.Step(forced[i]);
        return (prefill, watch.Elapsed.TotalSeconds, chosen);
    }

    private static double Median(IReadOnlyList<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);

    // Keeps the 2 largest-magnitude weights of every group of 4 inputs in each attention and MLP projection.
    private static void MaskTwoFour(LlamaForCausalLM model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, w) in model.named_parameters())
            if (name.Contains("_proj", StringComparison.Ordinal))
                w.mul_(Condense.Language.Sparsity.TwoFour.KeepTopTwo(w.abs()));
    }

    internal static (LlamaForCausalLM Model, Llama2cTokenizer Tokenizer) Load(string name, string workDir)
    {
        switch (name)
        {
            case "stories260K":
            case "llama2xs":
                var (model, tokenizer, _, _) = LanguageModelFiles.Load(AssetPaths.Require(name == "llama2xs" ? "models/llama2c/llama2xs_tinystories.bin" : LanguageModelFiles.DefaultModel), null);
                return (model, tokenizer);
            case "d288":
            case "d1024":
                var config = name == "d288"
                    ? new LlamaConfig(Dim: 288, HiddenDim: 768, NLayers: 6, NHeads: 6, NKvHeads: 6, VocabSize: 32000, MaxSeqLen: 512)
                    : new LlamaConfig(Dim: 1024, HiddenDim: 2816, NLayers: 8, NHeads: 16, NKvHeads: 16, VocabSize: 32000, MaxSeqLen: 512);
                manual_seed(0);
                var random = new LlamaForCausalLM(config);
                random.eval();
                return (random, SyntheticTokenizer(Path.Combine(workDir, $"vocab{config.VocabSize}.bin"), config.VocabSize));
            default:
                throw new Condense.Core.InputException($"model '{name}': expected stories260K, llama2xs, d288 or d1024");
        }
    }

    // A llama2.c tokenizer file of vocabSize pieces (unk, BOS, EOS, 256 bytes, " ", then filler words) for random-weight models.
    private static Llama2cTokenizer SyntheticTokenizer(string path, int vocabSize)
    {
        var pieces = new List<string> { "<unk>", "\n<s>\n", "\n</s>\n" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        pieces.Add(" ");
        for (int i = 0; pieces.Count < vocabSize; i++) pieces.Add($" w{i}");
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(pieces.Max(p => Encoding.UTF8.GetByteCount(p)));
            for (int i = 0; i < pieces.Count; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(pieces[i]);
                w.Write(i < 260 ? 0f : -i);
                w.Write(bytes.Length);
                w.Write(bytes);
            }
        });
        return Llama2cTokenizer.Load(path, vocabSize);
    }

    private sealed class TorchEngine(LlamaForCausalLM model, int positions) : IEngine
    {
        private LlamaKvCache? cache;

        public string Name => "torch";

        public int Prefill(int[] prompt)
        {
            cache?.Dispose();
            cache = model.NewCache(1, positions);
            return Forward(prompt);
        }

        public int Step(int token) => Forward([token]);

        private int Forward(int[] tokens)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Length], ScalarType.Int64);
            return (int)model.Forward(input, cache)[0, -1].argmax().item<long>();
        }
    }

    private sealed class NativeEngine(NativeLlama engine, string name = "native") : IEngine
    {
        public string Name => name;

        public int Prefill(int[] prompt)
        {
            engine.Reset();
            return Sampler.Argmax(engine.Forward(prompt));
        }

        public int Step(int token) => Sampler.Argmax(engine.Forward(token));
    }

    private sealed class CppEngine(LlamaCppModel model) : IEngine
    {
        public string Name => "llama.cpp";

        public int Prefill(int[] prompt) => model.Prefill(prompt);

        public int Step(int token) => model.Step(token);
    }
}
