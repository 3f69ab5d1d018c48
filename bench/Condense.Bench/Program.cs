// Condense benchmarks (not run in CI).
//   dotnet run -c Release --project bench/Condense.Bench -- train-step [--models vit_tiny,llama_small]
//       [--rounds 3] [--steps 5] [--warmup 2] [--threads 2] [--seed 0] [--python /usr/bin/python3] [--out FILE.md]
//   dotnet run -c Release --project bench/Condense.Bench -- lm [--models stories260K,llama_d288] [--rounds 3]
//       [--batch 8] [--seq 256] [--warmup 1] [--steps 3] [--gen-tokens 128] [--threads 1] [--python ...] [--out FILE.md]
using System.Globalization;
using Condense.Bench;

const string Usage = """
    usage: Condense.Bench train-step [--models vit_tiny,llama_small] [--rounds 3] [--steps 5] [--warmup 2]
                                     [--threads 2] [--seed 0] [--python /usr/bin/python3] [--out docs/benchmarks.md]
    Training-step throughput of Condense vs PyTorch, alternated round by round; writes artifacts/bench/*.json.
           Condense.Bench lm [--models stories260K,llama_d288] [--rounds 3] [--batch 8] [--seq 256] [--warmup 1]
                             [--steps 3] [--gen-tokens 128] [--threads 1] [--python /usr/bin/python3] [--out docs/benchmarks.md]
    LLaMA forward and KV-cache decode throughput of Condense vs PyTorch on the same weights.
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}
if (args[0] == "lm") return LmMain(args);
if (args[0] != "train-step")
{
    Console.Error.WriteLine($"unknown command '{args[0]}'\n{Usage}");
    return 2;
}

var options = new TrainStepOptions(BenchModels.Names);
try
{
    options = BenchArgs.Parse(args, options, (key, r, o) => key switch
    {
        "--models" => o with { Models = r.Value().Split(',', StringSplitOptions.RemoveEmptyEntries) },
        "--rounds" => o with { Rounds = r.Int() },
        "--steps" => o with { Steps = r.Int() },
        "--warmup" => o with { Warmup = r.Int() },
        "--threads" => o with { Threads = r.Int() },
        "--seed" => o with { Seed = r.Int() },
        "--python" => o with { Python = r.Value() },
        "--out" => o with { MarkdownOut = r.Value() },
        _ => throw new ArgumentException($"unknown option '{key}'"),
    });
    foreach (string model in options.Models)
        if (!BenchModels.Names.Contains(model))
            throw new ArgumentException($"unknown model '{model}'; known: {string.Join(", ", BenchModels.Names)}");
    if (options.Rounds < 1 || options.Steps < 1 || options.Warmup < 0 || options.Threads < 1)
        throw new ArgumentException("--rounds, --steps and --threads must be at least 1, --warmup at least 0");
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"{ex.Message}\n{Usage}");
    return 2;
}

string repoRoot = FindRepoRoot();
string command = "dotnet run -c Release --project bench/Condense.Bench -- " + string.Join(' ', args);
TrainStepBenchmark.Run(options, command, repoRoot);
return 0;

int LmMain(string[] lmArgs)
{
    var lm = new LmOptions(LmBenchmark.Names);
    try
    {
        lm = BenchArgs.Parse(lmArgs, lm, (key, r, o) => key switch
        {
            "--models" => o with { Models = r.Value().Split(',', StringSplitOptions.RemoveEmptyEntries) },
            "--rounds" => o with { Rounds = r.Int() },
            "--batch" => o with { Batch = r.Int() },
            "--seq" => o with { Seq = r.Int() },
            "--warmup" => o with { Warmup = r.Int() },
            "--steps" => o with { Steps = r.Int() },
            "--gen-tokens" => o with { GenTokens = r.Int() },
            "--threads" => o with { Threads = r.Int() },
            "--python" => o with { Python = r.Value() },
            "--out" => o with { MarkdownOut = r.Value() },
            _ => throw new ArgumentException($"unknown option '{key}'"),
        });
        foreach (string model in lm.Models)
            if (!LmBenchmark.Names.Contains(model))
                throw new ArgumentException($"unknown model '{model}'; known: {string.Join(", ", LmBenchmark.Names)}");
        if (lm.Rounds < 1 || lm.Batch < 1 || lm.Seq < 2 || lm.Steps < 1 || lm.Warmup < 0 || lm.GenTokens < 2 || lm.Threads < 1)
            throw new ArgumentException("--rounds, --batch, --steps, --threads must be >= 1, --seq and --gen-tokens >= 2, --warmup >= 0");
    }
    catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
    {
        Console.Error.WriteLine($"{ex.Message}\n{Usage}");
        return 2;
    }
    LmBenchmark.Run(lm, "dotnet run -c Release --project bench/Condense.Bench -- " + string.Join(' ', lmArgs), FindRepoRoot());
    return 0;
}

static string FindRepoRoot()
{
    foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Condense.slnx")))
                return dir.FullName;
    }
    throw new InvalidOperationException("Cannot find the repository root (Condense.slnx).");
}
