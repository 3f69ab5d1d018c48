using System.CommandLine;
using System.Globalization;
using Condense.Core.Runtime;
using Condense.Vision.Classification;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense train</c>: trains a small ViT classifier on Fashion-MNIST (or MNIST) through Condense's training
/// loop. Resumable: rerunning the same command continues from the newest checkpoint in the run folder.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var defaults = new ClassifierTrainingOptions();
        var json = CommonOptions.Json();
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist or mnist.", DefaultValueFactory = _ => defaults.Dataset };
        dataset.AcceptOnlyFromAmong("fashion-mnist", "mnist");
        var runDir = new Option<string?>("--run-dir") { Description = "Run folder (default: runs/train-<dataset>)." };
        var steps = new Option<long>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.Steps };
        var batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (cosine schedule).", DefaultValueFactory = _ => defaults.LearningRate };
        var warmup = new Option<long>("--warmup") { Description = "Linear warmup steps.", DefaultValueFactory = _ => defaults.WarmupSteps };
        var optimizer = new Option<string>("--optimizer") { Description = "adamw or lamb.", DefaultValueFactory = _ => defaults.Optimizer };
        optimizer.AcceptOnlyFromAmong("adamw", "lamb");
        var seed = new Option<long>("--seed") { Description = "Seed for weights, dropout and data order.", DefaultValueFactory = _ => defaults.Seed };
        var ckpt = new Option<long>("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var noResume = new Option<bool>("--no-resume") { Description = "Start over instead of resuming from the run folder's newest checkpoint." };
        var trainSubset = new Option<int>("--train-subset") { Description = "Use only the first N training images (0 = all)." };
        var evalSubset = new Option<int>("--eval-subset") { Description = "Evaluate on only the first N test images (0 = all)." };
        var progress = CommonOptions.Progress();
        var allowChange = CommonOptions.AllowConfigChange();

        var cmd = new Command("train", "Train a small ViT classifier on Fashion-MNIST with Condense's training loop (resumable).")
        {
            dataset, runDir, steps, batch, lr, warmup, optimizer, seed, ckpt, noResume, trainSubset, evalSubset, allowChange, progress, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            TorchRuntime.EnsureLoaded();
            var ds = pr.GetValue(dataset)!;
            var options = defaults with
            {
                Dataset = ds,
                RunDir = pr.GetValue(runDir) ?? Path.Combine("runs", $"train-{ds}"),
                Steps = pr.GetValue(steps),
                BatchSize = pr.GetValue(batch),
                LearningRate = pr.GetValue(lr),
                WarmupSteps = pr.GetValue(warmup),
                Optimizer = pr.GetValue(optimizer)!,
                Seed = pr.GetValue(seed),
                CheckpointEvery = pr.GetValue(ckpt),
                Resume = !pr.GetValue(noResume),
                TrainSubset = pr.GetValue(trainSubset),
                EvalSubset = pr.GetValue(evalSubset),
                Progress = pr.GetValue(progress),
                AllowConfigChange = pr.GetValue(allowChange),
            };
            using var resumable = Interruption.Resumable();   // Ctrl+C / SIGTERM: checkpoint, then exit 1
            var result = ClassifierTraining.Run(options, cancellation);
            var t = result.Training;
            output.Result(new
            {
                run_dir = Path.GetFullPath(t.RunDir),
                steps = t.Steps,
                resumed_from_step = t.ResumedFromStep,
                final_loss = t.FinalLoss,
                test_accuracy = result.TestAccuracy,
                test_images = result.TestImages,
                model = Path.GetFullPath(t.ModelPath),
                checkpoint = Path.GetFullPath(t.LastCheckpoint),
                report = Path.GetFullPath(result.ReportPath),
                elapsed_s = t.ElapsedSeconds,
            });
            if (!output.Json)
            {
                output.Human.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"[green]done[/]: {t.Steps} steps (resumed from {t.ResumedFromStep}), loss {t.FinalLoss:F4}, test accuracy {result.TestAccuracy:P2} on {result.TestImages} images"));
                output.Human.MarkupLine($"report: {Markup.Escape(Path.GetFullPath(result.ReportPath))}");
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }
}
