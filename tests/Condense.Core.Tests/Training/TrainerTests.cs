using Condense.Core.Training;
using Condense.Testing;
using TorchSharp;

namespace Condense.Core.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private TrainerOptions Options(string name, long steps, string optimizer = "adamw") => new()
    {
        RunDir = _temp.File(name),
        MaxSteps = steps,
        Seed = 7,
        Optimizer = optimizer,
        LearningRate = 3e-3,
        WarmupSteps = 3,
        CheckpointEvery = 5,
        LogEvery = 5,
        Progress = ProgressMode.None,
    };

    private static TrainResult Train(TrainerOptions options, long modelSeed = 1, Func<long, bool>? failAt = null)
    {
        var model = TinyCifar.Mlp(modelSeed);
        var trainer = new Trainer(model, options);
        long seen = 0;
        return trainer.Fit(step => TinyCifar.BatchesFrom(step, 16), batch =>
        {
            seen++;
            if (failAt?.Invoke(trainer.CompletedSteps + 1) == true) throw new InvalidOperationException("simulated crash");
            return TinyCifar.Loss(model, batch);
        });
    }

    [Fact]
    public void SameSeedGivesSameLosses()
    {
        var a = Train(Options("a", 12));
        var b = Train(Options("b", 12));
        Assert.Equal(12, a.Losses.Count);
        Assert.Equal(a.Losses, b.Losses);
        var c = Train(Options("c", 12) with { Seed = 8 });   // dropout masks differ
        Assert.NotEqual(a.Losses, c.Losses);
    }

    [Fact]
    public void Training_in_phases_with_StopAtStep_matches_one_uninterrupted_run()
    {
        // A search trial trains phase by phase: stop at 7, then 14, then the end; the schedule spans all 20 steps, so
        // the losses equal one run's, step for step.
        var full = Train(Options("full", 20));
        var phased = Options("phased", 20);
        var first = Train(phased with { StopAtStep = 7 });
        Assert.Equal(7, first.Steps);
        var second = Train(phased with { StopAtStep = 14 });
        Assert.Equal((7L, 14L), (second.ResumedFromStep, second.Steps));
        var last = Train(phased);
        Assert.Equal(20, last.Steps);
        Assert.Equal(full.Losses, last.Losses);
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("lamb")]
    public void ResumedRunMatchesUninterruptedRun(string optimizer)
    {
        var full = Train(Options("full", 20, optimizer));

        var opts = Options("killed", 20, optimizer);
        var crash = Assert.Throws<InvalidOperationException>(() => Train(opts, failAt: step => step == 13));
        Assert.Equal("simulated crash", crash.Message);
        Assert.Equal(10, TrainingCheckpoint.List(opts.RunDir).Max(c => c.Step));

        var resumed = Train(opts);
        Assert.Equal(10, resumed.ResumedFromStep);
        Assert.Equal(20, resumed.Steps);
        // metrics.jsonl holds steps 1..20 exactly once: the lines the crashed run wrote past step 10 were dropped.
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (double)i), MetricsLog.Read(Path.Combine(opts.RunDir, "metrics.jsonl")).Select(r => r["step"]));
        Assert.Equal(full.Losses, resumed.Losses);
    }

    [Fact]
    public void LossFallsOnRealData()
    {
        var result = Train(Options("fall", 200) with { LearningRate = 1e-2, CheckpointEvery = 0 });
        Assert.True(result.Losses.Skip(180).Average() < result.Losses.Take(10).Average() - 0.5,
            $"loss did not fall: {string.Join(" ", result.Losses.Select(l => l.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    [Fact]
    public void RunFolderHasCheckpointMetricsTensorBoardModelAndPlots()
    {
        var opts = Options("files", 12);
        var result = Train(opts);
        Assert.True(File.Exists(result.ModelPath));
        Assert.EndsWith("step_00000012.safetensors", result.LastCheckpoint, StringComparison.Ordinal);
        Assert.Equal(2, TrainingCheckpoint.List(opts.RunDir).Count);          // KeepCheckpoints = 2: steps 10 and 12
        Assert.Single(Directory.GetFiles(Path.Combine(opts.RunDir, "tensorboard"), "events.out.tfevents.*"));
        Assert.True(new FileInfo(Directory.GetFiles(Path.Combine(opts.RunDir, "tensorboard"))[0]).Length > 100);
        Assert.True(File.Exists(Path.Combine(opts.RunDir, "plots", "loss.png")));
        Assert.Equal(12, MetricsLog.Read(Path.Combine(opts.RunDir, "metrics.jsonl")).Count);
        Assert.Empty(Directory.GetFiles(opts.RunDir, "*.tmp", SearchOption.AllDirectories));

        // the saved model loads into a fresh model and gives the same outputs
        using var scope = torch.NewDisposeScope();
        var a = TinyCifar.Mlp(1);
        var b = TinyCifar.Mlp(2);
        Condense.Core.Checkpoints.ModuleCheckpoint.LoadSafetensors(a, result.ModelPath);
        var trained = new Trainer(b, opts);
        Assert.True(trained.TryResume());
        a.eval(); b.eval();
        var x = TinyCifar.Batch(0, 8).X;
        Assert.Equal(0f, (a.call(x) - b.call(x)).abs().max().item<float>());
    }

    [Fact]
    public void NanLossStopsAndKeepsLastGoodCheckpoint()
    {
        var opts = Options("nan", 20);
        var model = TinyCifar.Mlp(1);
        var trainer = new Trainer(model, opts);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(step => TinyCifar.BatchesFrom(step, 16), batch =>
        {
            var loss = TinyCifar.Loss(model, batch);
            return trainer.CompletedSteps + 1 == 8 ? loss * float.NaN : loss;
        }));
        Assert.Equal(8, ex.Step);
        Assert.Contains("loss is NaN at step 8", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("step_00000005.safetensors", ex.LastCheckpoint, StringComparison.Ordinal);
        Assert.Equal(5, TrainingCheckpoint.List(opts.RunDir).Max(c => c.Step));
    }

    [Fact]
    public void BadOptionsNameTheField()
    {
        var ex = Assert.Throws<InputException>(() => new Trainer(TinyCifar.Mlp(1), Options("bad", 10, "sgd")));
        Assert.Contains("'Optimizer' = sgd", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InputException>(() => new Trainer(TinyCifar.Mlp(1), Options("bad", 10) with { LearningRate = -1 }));
        Assert.Contains("LearningRate", ex.Message, StringComparison.Ordinal);
    }
}
