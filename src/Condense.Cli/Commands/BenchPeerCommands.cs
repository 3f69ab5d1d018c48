using System.CommandLine;
using Condense.Core.IO;
using Condense.Experiments;
using Condense.Experiments.Peers;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense bench train-step</c> and <c>condense bench lm</c>: Condense against PyTorch on the same models and data,
/// alternated round by round (the PyTorch side runs bench/peers/*.py as a subprocess).
/// </summary>
internal static class BenchPeerCommands
{
    private static Option<string> Python() => new("--python") { Description = "Python with PyTorch for the peer script.", DefaultValueFactory = _ => "/usr/bin/python3" };

    private static string RepositoryRoot() =>
        AssetPaths.RepositoryRoot() ?? throw new Condense.Core.InputException("the PyTorch peers need a checkout of the repository (bench/peers/); none found above the current folder");

    public static Command TrainStep()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated bench models.", DefaultValueFactory = _ => string.Join(',', BenchModels.Names) };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per framework and round.", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first.", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Threads for both frameworks.", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the models and data." };
        var python = Python();
        var json = CommonOptions.Json();
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file (e.g. docs/benchmarks.md)." };
        var cmd = new Command("train-step", "Training-step throughput of Condense vs PyTorch on the same models, alternated round by round.")
        {
            models, rounds, steps, warmup, threads, seed, python, doc, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var options = new TrainStepOptions(pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                pr.GetValue(rounds), pr.GetValue(steps), pr.GetValue(warmup), pr.GetValue(threads), pr.GetValue(seed), pr.GetValue(python)!, pr.GetValue(doc));
            output.Result(TrainStepBenchmark.Run(options, GeneratedDoc.CommandLine(), RepositoryRoot(), Console.Error.WriteLine));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static Command Lm()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated models.", DefaultValueFactory = _ => string.Join(',', LmBenchmark.Names) };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "Sequences per forward batch.", DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 256 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed passes first.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Timed forward passes per round.", DefaultValueFactory = _ => 3 };
        var genTokens = new Option<int>("--gen-tokens") { Description = "Greedy tokens decoded with the KV cache.", DefaultValueFactory = _ => 128 };
        var threads = new Option<int>("--threads") { Description = "Threads for both frameworks.", DefaultValueFactory = _ => 1 };
        var python = Python();
        var json = CommonOptions.Json();
        var doc = new Option<string?>("--doc") { Description = "Write the tables and the command into this Markdown file (e.g. docs/benchmarks.md)." };
        var cmd = new Command("lm", "LLaMA forward and KV-cache decode throughput of Condense vs PyTorch on the same weights.")
        {
            models, rounds, batch, seq, warmup, steps, genTokens, threads, python, doc, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var options = new LmOptions(pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                pr.GetValue(rounds), pr.GetValue(batch), pr.GetValue(seq), pr.GetValue(warmup), pr.GetValue(steps), pr.GetValue(genTokens),
                pr.GetValue(threads), pr.GetValue(python)!, pr.GetValue(doc));
            output.Result(LmBenchmark.Run(options, GeneratedDoc.CommandLine(), RepositoryRoot(), Console.Error.WriteLine));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
