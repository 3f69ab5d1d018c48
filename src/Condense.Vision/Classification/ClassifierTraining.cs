using System.Globalization;
using System.Text.Json;
using Condense.Core;
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Classification;

/// <summary>Settings of <see cref="ClassifierTraining"/>; every field has a working default.</summary>
public sealed record ClassifierTrainingOptions
{
    /// <summary>"fashion-mnist" (Debian package dataset-fashion-mnist) or "mnist" (the test set in ../shared).</summary>
    public string Dataset { get; init; } = "fashion-mnist";

    /// <summary>Run folder for checkpoints, metrics, TensorBoard logs, plots and the report.</summary>
    public string RunDir { get; init; } = Path.Combine("runs", "train-fashion-mnist");
    /// <summary>Optimizer steps to train.</summary>
    public long Steps { get; init; } = 600;
    /// <summary>Training images per step (the last incomplete batch of an epoch is dropped).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak learning rate; the cosine schedule decays to a hundredth of it.</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Linear warmup steps (capped at <see cref="Steps"/>).</summary>
    public long WarmupSteps { get; init; } = 30;
    /// <summary>"adamw" or "lamb".</summary>
    public string Optimizer { get; init; } = "adamw";
    /// <summary>Seed of the model initialization and the batch order.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>Steps between checkpoints; 0 writes only the final one.</summary>
    public long CheckpointEvery { get; init; } = 100;
    /// <summary>Continue from the newest checkpoint in the run folder; false deletes its old checkpoints, logs and plots.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>How progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;

    /// <summary>Use only the first N training images (0 = all).</summary>
    public int TrainSubset { get; init; }

    /// <summary>Evaluate on only the first N test images (0 = all).</summary>
    public int EvalSubset { get; init; }

    /// <summary>Resume even when the run folder's checkpoint was written with other settings.</summary>
    public bool AllowConfigChange { get; init; }

    /// <summary>The model: a small ViT for 28x28 grey images (patch 7, 16 tokens).</summary>
    public VitConfig Model { get; init; } = new(ImageSize: 28, PatchSize: 7, InChannels: 1, EmbedDim: 64, Depth: 4, NumHeads: 4, MlpRatio: 2, NumClasses: 10);
}

/// <summary>Result of a classifier run: the training outcome plus test accuracy.</summary>
public sealed record ClassifierTrainingResult(TrainResult Training, double TestAccuracy, int TestImages, string ReportPath);

/// <summary>
/// A real end-to-end training job on the foundation: IDX data, the prefetching BatchLoader, a ViT, Condense's
/// Trainer (checkpoints, resume, metrics, TensorBoard, progress), test accuracy, and a Markdown report with the
/// loss curve. It is what `condense train` runs.
/// </summary>
public static class ClassifierTraining
{
    // Fashion-MNIST / MNIST pixel statistics over the training set, for input normalization.
    private static readonly Dictionary<string, (float Mean, float Std)> Stats = new()
    {
        ["fashion-mnist"] = (0.2860f, 0.3530f),
        ["mnist"] = (0.1307f, 0.3081f),
    };

    /// <summary>The training and test images of "fashion-mnist" or "mnist"; throws an input error for another name or missing files.</summary>
    public static (LabelledImages Train, LabelledImages Test) LoadDataset(string dataset)
    {
        switch (dataset)
        {
            case "fashion-mnist":
            {
                var dir = AssetPaths.FashionMnistDir();
                if (!File.Exists(Path.Combine(dir, "train-images-idx3-ubyte.gz")))
                    throw new InputException($"Fashion-MNIST not found in {dir}: install the Debian package dataset-fashion-mnist (scripts/setup.sh; `condense assets` lists every data set)");
                return (LabelledImages.FromIdx(Path.Combine(dir, "train-images-idx3-ubyte.gz"), Path.Combine(dir, "train-labels-idx1-ubyte.gz")),
                        LabelledImages.FromIdx(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")));
            }
            case "mnist":
            {
                // ../shared has only the MNIST test set: train on its first 8,000 images, test on the last 2,000.
                var all = LabelledImages.FromIdx(AssetPaths.Require("data/images/mnist_t10k-images-idx3-ubyte.gz"),
                    AssetPaths.Require("data/images/mnist_t10k-labels-idx1-ubyte"));
                return (all.Slice(0, 8000), all.Slice(8000, all.Count - 8000));
            }
            default:
                throw new InputException($"unknown dataset '{dataset}' (expected 'fashion-mnist' or 'mnist')");
        }
    }

    /// <summary>Trains the classifier, measures its test accuracy and writes report.md to the run folder.</summary>
    public static ClassifierTrainingResult Run(ClassifierTrainingOptions o, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.BatchSize <= 0) throw InputException.ForOption(nameof(o.BatchSize), $"{o.BatchSize}: must be positive");
        if (o.TrainSubset < 0) throw InputException.ForOption(nameof(o.TrainSubset), $"{o.TrainSubset}: must be 0 (all images) or positive");
        if (o.EvalSubset < 0) throw InputException.ForOption(nameof(o.EvalSubset), $"{o.EvalSubset}: must be 0 (all images) or positive");
        using var runLock = RunFolderLock.Acquire(o.RunDir);
        var (train, test) = LoadDataset(o.Dataset);
        if (o.TrainSubset > 0) train = train.Slice(0, Math.Min(o.TrainSubset, train.Count));
        if (o.EvalSubset > 0) test = test.Slice(0, Math.Min(o.EvalSubset, test.Count));
        if (train.Images.Height != o.Model.ImageSize || train.Images.Channels != o.Model.InChannels)
            throw new InputException($"model expects {o.Model.InChannels}x{o.Model.ImageSize}x{o.Model.ImageSize} images, dataset '{o.Dataset}' has {train.Images.Channels}x{train.Images.Height}x{train.Images.Width}");
        o.Model.Validate();
        var (mean, std) = Stats[o.Dataset];

        torch.manual_seed(o.Seed);
        var model = new VisionTransformer(o.Model);
        if (!o.Resume && Directory.Exists(o.RunDir))
        {
            foreach (var stale in new[] { "checkpoints", "tensorboard", "plots" })
                if (Directory.Exists(Path.Combine(o.RunDir, stale))) Directory.Delete(Path.Combine(o.RunDir, stale), recursive: true);
            File.Delete(Path.Combine(o.RunDir, "metrics.jsonl"));
        }
        var trainer = new Trainer(model, new TrainerOptions
        {
            RunDir = o.RunDir, MaxSteps = o.Steps, Seed = o.Seed, Optimizer = o.Optimizer, LearningRate = o.LearningRate,
            MinLearningRate = o.LearningRate / 100, WarmupSteps = Math.Min(o.WarmupSteps, o.Steps), CheckpointEvery = o.CheckpointEvery,
            Resume = o.Resume, Progress = o.Progress, Description = $"train {o.Dataset}", LogEvery = 20,
            Configuration = new Dictionary<string, string>
            {
                ["dataset"] = o.Dataset,
                ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
                ["train_subset"] = o.TrainSubset.ToString(CultureInfo.InvariantCulture),
                ["model"] = o.Model.ToString(),
            },
            AllowConfigChange = o.AllowConfigChange,
        });
        var loader = new BatchLoader<ImageBatch>(train.Count, o.BatchSize, dropLast: true, (ulong)o.Seed,
            ImageBatch.Collate(train, [mean], [std]));
        var result = trainer.Fit(step => loader.FromStep(step, cancellation),
            b => nn.functional.cross_entropy(model.call(b.Images), b.Labels), b => (int)b.Labels.shape[0], cancellation);

        double accuracy = Evaluate(model, test, mean, std);
        var reportPath = WriteReport(o, result, accuracy, test.Count);
        return new ClassifierTrainingResult(result, accuracy, test.Count, reportPath);
    }

    /// <summary>Top-1 accuracy on <paramref name="data"/>, in batches, without gradients.</summary>
    public static double Evaluate(nn.Module<Tensor, Tensor> model, LabelledImages data, float mean, float std, int batchSize = 500)
    {
        model.eval();
        using var _ = torch.no_grad();
        long correct = 0;
        var collate = ImageBatch.Collate(data, [mean], [std]);
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).ToArray();
            using var batch = collate(idx);
            correct += model.call(batch.Images).argmax(1).eq(batch.Labels).sum().item<long>();
        }
        model.train();
        return (double)correct / data.Count;
    }

    private static string WriteReport(ClassifierTrainingOptions o, TrainResult r, double accuracy, int testImages)
    {
        var summary = new MarkdownTable("metric", "value")
            .AddRow("dataset", o.Dataset)
            .AddRow("model", $"ViT {o.Model.ImageSize}px patch {o.Model.PatchSize}, dim {o.Model.EmbedDim}, depth {o.Model.Depth}, heads {o.Model.NumHeads}")
            .AddRow("steps", r.Steps)
            .AddRow("resumed from step", r.ResumedFromStep)
            .AddRow("final training loss", r.FinalLoss.ToString("F4", CultureInfo.InvariantCulture))
            .AddRow($"test accuracy ({testImages} images)", accuracy.ToString("P2", CultureInfo.InvariantCulture))
            .AddRow("wall time this run (s)", r.ElapsedSeconds.ToString("F1", CultureInfo.InvariantCulture));
        var config = JsonSerializer.Serialize(o, new JsonSerializerOptions { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } });
        var report = new MarkdownReport()
            .Heading(1, $"Classifier training: {o.Dataset}")
            .Table(summary)
            .Image("training loss", "plots/loss.png")
            .Image("learning rate", "plots/lr.png")
            .Heading(2, "Configuration")
            .CodeBlock("json", config)
            .Paragraph("Files: `model.safetensors` (final weights), `checkpoints/` (resumable), `metrics.jsonl`, `tensorboard/`.");
        var path = Path.Combine(o.RunDir, "report.md");
        report.Save(path);
        return path;
    }
}
