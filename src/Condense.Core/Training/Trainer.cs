using System.Diagnostics;
using System.Globalization;
using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Core.Reports;
using Condense.Core.Runtime;
using Condense.Core.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = Condense.Core.Training.Optimizers.AdamW;

namespace Condense.Core.Training;

/// <summary>
/// Condense's training loop. One optimizer step = zero grads, loss, backward, clip, schedule, update, all inside
/// a dispose scope so memory stays flat. <c>Fit</c> adds what a run needs around it: resume from
/// the newest checkpoint (model, optimizer, RNG and data position), periodic atomic checkpoints, metrics.jsonl,
/// TensorBoard scalars, a progress bar, a stop on NaN that keeps the last good checkpoint, and at the end the
/// model's weights, a loss plot and a summary in the run folder.
/// </summary>
public sealed class Trainer
{
    private readonly nn.Module _model;
    private readonly List<Parameter> _params;
    private SummaryWriter? _tensorboard;   // TorchSharp's writer appends each event to its file as it goes

    /// <summary>A trainer for the trainable parameters of <paramref name="model"/>; validates <paramref name="options"/>.</summary>
    public Trainer(nn.Module model, TrainerOptions options)
    {
        options.Validate();
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first step
        Options = options;
        _model = model;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        _params = named.Select(p => p.parameter).ToList();
        Optimizer = options.Optimizer == "lamb"
            ? new Lamb(named, options.WeightDecay, options.Beta1, options.Beta2, options.Eps)
            : new AdamW(named, options.WeightDecay, options.Beta1, options.Beta2, options.Eps);
        Schedule = new CosineWarmupSchedule(options.LearningRate, options.WarmupSteps, options.MaxSteps, options.MinLearningRate);
    }

    /// <summary>The options this trainer was built with.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The optimizer (AdamW or LAMB) over the model's trainable parameters; its state is checkpointed.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rate per step: linear warm-up, then cosine decay to the minimum.</summary>
    public CosineWarmupSchedule Schedule { get; }

    /// <summary>Optimizer steps completed so far (restored on resume).</summary>
    public long CompletedSteps { get; private set; }

    /// <summary>The newest checkpoint this trainer wrote or resumed from.</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>One optimizer step on the loss that <paramref name="computeLoss"/> builds.</summary>
    public StepMetrics TrainStep(Func<LossOutput> computeLoss, int items = 0)
    {
        var clock = Stopwatch.StartNew();
        var cpuBefore = Environment.CpuUsage.TotalTime;
        using var scope = torch.NewDisposeScope();
        Optimizer.ZeroGrad();
        var output = computeLoss();
        double loss = output.Loss.item<float>();
        long step = CompletedSteps + 1;
        if (!double.IsFinite(loss)) throw new TrainingDivergedException(step, "loss", loss, LastCheckpoint);
        output.Loss.backward();
        double gradNorm = Options.GradClip > 0
            ? torch.nn.utils.clip_grad_norm_(_params, Options.GradClip)
            : GlobalGradNorm();
        if (!double.IsFinite(gradNorm)) throw new TrainingDivergedException(step, "gradient norm", gradNorm, LastCheckpoint);
        double lr = Schedule.At(CompletedSteps);
        Optimizer.LearningRate = lr;
        Optimizer.Step();
        CompletedSteps = step;
        Dictionary<string, double>? extra = null;
        if (output.Parts is not null)
        {
            extra = [];
            foreach (var (name, t) in output.Parts) extra[name] = t.item<float>();
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new StepMetrics(step, loss, lr, gradNorm, seconds, items / Math.Max(seconds, 1e-12))
        {
            CpuSeconds = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds,
            Extra = extra,
        };
    }

    /// <summary>Convenience overload for a plain loss tensor.</summary>
    public StepMetrics TrainStep(Func<Tensor> computeLoss, int items = 0) => TrainStep(() => (LossOutput)computeLoss(), items);

    /// <summary>
    /// Restores the newest readable checkpoint in the run folder, if any; returns true when it resumed. A corrupt
    /// checkpoint (bad header, checksum mismatch, missing tensor) is skipped with a notice for the one before it;
    /// a checkpoint written under another configuration is refused (see <see cref="TrainerOptions.Configuration"/>).
    /// </summary>
    public bool TryResume()
    {
        var checkpoints = TrainingCheckpoint.List(Options.RunDir);
        if (checkpoints.Count == 0) return false;
        var corrupt = new List<string>();
        for (int i = checkpoints.Count - 1; i >= 0; i--)
        {
            var path = checkpoints[i].Path;
            try
            {
                CheckConfiguration(path, TrainingCheckpoint.Configuration(path));
                CompletedSteps = TrainingCheckpoint.Load(path, _model, Optimizer, Options.Optimizer);
                LastCheckpoint = path;
                return true;
            }
            catch (InputException e) when (e is not ConfigurationChangedException)
            {
                corrupt.Add(path);
                Notice($"{Path.GetFileName(path)} is unreadable ({e.Message.Replace(path + ": ", "", StringComparison.Ordinal)}); " +
                    (i > 0 ? $"resuming from {Path.GetFileName(checkpoints[i - 1].Path)} instead" : "no older checkpoint"));
            }
        }
        throw new CorruptCheckpointException($"{Options.RunDir}: no readable checkpoint ({string.Join(", ", corrupt.Select(Path.GetFileName))}); start over (Resume = false) or restore one");
    }

    // The Trainer's own settings, then the caller's: what a resumed run must share with the run it continues.
    private Dictionary<string, string> RunConfiguration()
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var o = Options;
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = o.Optimizer,
            ["learning_rate"] = F(o.LearningRate),
            ["min_learning_rate"] = F(o.MinLearningRate),
            ["warmup_steps"] = o.WarmupSteps.ToString(CultureInfo.InvariantCulture),
            ["weight_decay"] = F(o.WeightDecay),
            ["betas"] = $"{F(o.Beta1)},{F(o.Beta2)}",
            ["eps"] = F(o.Eps),
            ["grad_clip"] = F(o.GradClip),
        };
        foreach (var (k, v) in o.Configuration ?? new Dictionary<string, string>()) config[k] = v;
        return config;
    }

    private void CheckConfiguration(string path, Dictionary<string, string>? recorded)
    {
        if (recorded is null) return;   // written before configurations were recorded
        var current = RunConfiguration();
        var changed = recorded.Keys.Union(current.Keys).Order(StringComparer.Ordinal)
            .Where(k => recorded.GetValueOrDefault(k) != current.GetValueOrDefault(k))
            .Select(k => $"{k} {recorded.GetValueOrDefault(k) ?? "(none)"} → {current.GetValueOrDefault(k) ?? "(none)"}")
            .ToList();
        if (changed.Count == 0) return;
        var list = string.Join("; ", changed.Take(6)) + (changed.Count > 6 ? $"; and {changed.Count - 6} more" : "");
        if (Options.AllowConfigChange)
        {
            Notice($"resuming {Path.GetFileName(path)} with a changed configuration: {list}");
            return;
        }
        throw new ConfigurationChangedException(
            $"is off, and {Options.RunDir} was started with other settings: {list}; use another run folder, start over, or allow the change");
    }

    private void Notice(string message) => (Options.Notice ?? (m => Console.Error.WriteLine($"notice: {m}")))(message);

    /// <summary>Writes a checkpoint for the current step (atomically) and prunes old ones.</summary>
    public string SaveCheckpoint()
    {
        var path = TrainingCheckpoint.PathFor(Options.RunDir, CompletedSteps);
        TrainingCheckpoint.Save(path, _model, Optimizer, CompletedSteps, Options.Optimizer, RunConfiguration());
        LastCheckpoint = path;
        foreach (var (_, old) in TrainingCheckpoint.List(Options.RunDir).SkipLast(Options.KeepCheckpoints))
            File.Delete(old);
        return path;
    }

    /// <summary>
    /// Trains until <see cref="TrainerOptions.MaxSteps"/>. <paramref name="batchesFrom"/> gets the number of steps
    /// already done and returns the batches from there on (a loader resumes at epoch = step / batchesPerEpoch,
    /// batch = step % batchesPerEpoch), so a resumed run sees exactly the data the uninterrupted run would have.
    /// Batches that are <see cref="IDisposable"/> are disposed after their step.
    /// </summary>
    public TrainResult Fit<TBatch>(Func<long, IEnumerable<TBatch>> batchesFrom, Func<TBatch, LossOutput> computeLoss,
        Func<TBatch, int>? countItems = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        using var runLock = RunFolderLock.Acquire(Options.RunDir);
        RemoveStaleTempFiles();
        bool resumed = Options.Resume && TryResume();
        if (!resumed) Determinism.Seed(Options.Seed);
        long resumedFrom = CompletedSteps;
        _model.train();
        using var metrics = new MetricsLog(Path.Combine(Options.RunDir, "metrics.jsonl"), CompletedSteps);
        if (Options.TensorBoard && _tensorboard is null)
            _tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(Options.RunDir, "tensorboard"), createRunName: false);
        double lastLoss = double.NaN;
        long target = Math.Min(Options.MaxSteps, Options.StopAtStep ?? Options.MaxSteps);

        try
        {
            TrainingProgress.Run(Options.Progress, Options.Description, target, CompletedSteps, Options.LogEvery, report =>
            {
                if (CompletedSteps >= target) return;
                using var batches = batchesFrom(CompletedSteps).GetEnumerator();
                while (true)
                {
                    cancellation.ThrowIfCancellationRequested();
                    StepMetrics m;
                    // Tensors a synchronous loader creates in MoveNext land in this scope and die with the step.
                    using (var batchScope = torch.NewDisposeScope())
                    {
                        if (!batches.MoveNext()) break;
                        var batch = batches.Current;
                        try
                        {
                            m = TrainStep(() => computeLoss(batch), countItems?.Invoke(batch) ?? 0);
                        }
                        finally
                        {
                            (batch as IDisposable)?.Dispose();
                        }
                    }
                    lastLoss = m.Loss;
                    metrics.Write(m);
                    if (m.Step % Options.LogEvery == 0 || m.Step == target) Log(m, metrics);
                    report(m);
                    if (Options.CheckpointEvery > 0 && m.Step % Options.CheckpointEvery == 0 && m.Step < target)
                        SaveCheckpoint();
                    if (CompletedSteps >= target) break;
                }
            });
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: keep what was done so the next run resumes here.
            if (CompletedSteps > resumedFrom) SaveCheckpoint();
            metrics.Flush();
            throw;
        }
        metrics.Flush();
        if (CompletedSteps < target)
            throw new InputException($"training data ran out after {CompletedSteps} of {target} steps");

        if (LastCheckpoint is null || !LastCheckpoint.EndsWith(Path.GetFileName(TrainingCheckpoint.PathFor("", CompletedSteps)), StringComparison.Ordinal))
            SaveCheckpoint();
        var modelPath = Path.Combine(Options.RunDir, "model.safetensors");
        var metadata = new Dictionary<string, string>(Options.ModelMetadata ?? new Dictionary<string, string>())
        {
            ["format"] = "condense.model.v1",
            ["step"] = CompletedSteps.ToString(CultureInfo.InvariantCulture),
        };
        ModuleCheckpoint.SaveSafetensors(_model, modelPath, metadata);
        var history = MetricsLog.Read(metrics.Path);
        var losses = history.Select(r => r.GetValueOrDefault("loss", double.NaN)).ToList();
        if (Options.Plots) WritePlots(history);
        return new TrainResult(Options.RunDir, CompletedSteps, resumedFrom, double.IsNaN(lastLoss) ? losses.LastOrDefault(double.NaN) : lastLoss,
            losses, modelPath, LastCheckpoint!, clock.Elapsed.TotalSeconds);
    }

    // Temp files of atomic writes that a killed process left behind; the run lock says no live writer owns them.
    private void RemoveStaleTempFiles()
    {
        foreach (var dir in new[] { Options.RunDir, Path.Combine(Options.RunDir, "checkpoints") })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var tmp in Directory.EnumerateFiles(dir, ".*.tmp"))
                if (AtomicFile.OwnerPid(tmp) is int pid && pid != Environment.ProcessId)
                    File.Delete(tmp);
        }
    }

    /// <summary>Overload for a loss function returning a plain tensor.</summary>
    public TrainResult Fit<TBatch>(Func<long, IEnumerable<TBatch>> batchesFrom, Func<TBatch, Tensor> computeLoss,
        Func<TBatch, int>? countItems = null, CancellationToken cancellation = default) =>
        Fit(batchesFrom, b => (LossOutput)computeLoss(b), countItems, cancellation);

    private void Log(StepMetrics m, MetricsLog metrics)
    {
        metrics.Flush();
        if (_tensorboard is null) return;
        int step = checked((int)m.Step);
        _tensorboard.add_scalar("train/loss", (float)m.Loss, step);
        _tensorboard.add_scalar("train/lr", (float)m.LearningRate, step);
        _tensorboard.add_scalar("train/grad_norm", (float)m.GradNorm, step);
        _tensorboard.add_scalar("train/items_per_s", (float)m.ItemsPerSecond, step);
        if (m.Extra is not null)
            foreach (var (k, v) in m.Extra) _tensorboard.add_scalar($"train/{k}", (float)v, step);
    }

    private void WritePlots(List<Dictionary<string, double>> history)
    {
        if (history.Count == 0) return;
        var steps = history.Select(r => r["step"]).ToList();
        var series = new List<PlotSeries> { new("loss", steps, history.Select(r => r.GetValueOrDefault("loss", double.NaN)).ToList()) };
        var extraKeys = history[^1].Keys.Except(["step", "loss", "lr", "grad_norm", "step_s", "cpu_s", "items_per_s"]).ToList();
        foreach (var k in extraKeys) series.Add(new(k, steps, history.Select(r => r.GetValueOrDefault(k, double.NaN)).ToList()));
        var plots = Path.Combine(Options.RunDir, "plots");
        Plots.LineChart(Path.Combine(plots, "loss.png"), $"{Options.Description}: training loss", "step", "loss", series);
        Plots.LineChart(Path.Combine(plots, "lr.png"), $"{Options.Description}: learning rate", "step", "learning rate",
            [new("lr", steps, history.Select(r => r.GetValueOrDefault("lr", double.NaN)).ToList())]);
    }

    private double GlobalGradNorm()
    {
        using var scope = torch.NewDisposeScope();
        var norms = _params.Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToList();
        return norms.Count == 0 ? 0 : torch.stack(norms).norm().item<float>();
    }
}

/// <summary>A resume refused because the run folder's checkpoint was written under other settings.</summary>
public sealed class ConfigurationChangedException : InputException
{
    /// <summary>The refusal; the message starts with the option that would allow the change.</summary>
    public ConfigurationChangedException(string detail) : base(nameof(TrainerOptions.AllowConfigChange), detail) { }
}

/// <summary>A resume that found checkpoints but none readable.</summary>
public sealed class CorruptCheckpointException(string message) : InputException(message);
