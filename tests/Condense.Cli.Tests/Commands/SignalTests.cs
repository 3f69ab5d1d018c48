using Condense.Core.Training;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM during `distill` and `sparsify --method maskllm`: the run saves a checkpoint, prints
/// one line, exits 1, and the same command resumes it to exactly the losses of an uninterrupted run (issue 13;
/// `train` has the same test in TrainCommandTests).
/// </summary>
public sealed class SignalTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-signal-");

    public void Dispose() => _temp.Dispose();

    private string At(string name) => Path.Combine(_temp.Path, name);

    private static List<double> Losses(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl")).Select(r => r["loss"]).ToList();

    private static void AssertInterrupted(CliProcess.Result r)
    {
        Assert.True(r.ExitCode == 1, r.Stderr);
        Assert.Contains("interrupted; rerun the same command to resume", r.Stderr, StringComparison.Ordinal);
    }

    // 150 steps, no periodic checkpoint: the only checkpoint mid-run is the one the signal makes
    private string[] Distill(string run) =>
    [
        "distill", "--teachers", "resnet8,hog", "--steps", "150", "--progress", "lines", "--run-dir", At(run),
        "--set", "data.train_images=256", "--set", "data.test_images=64", "--set", "train.batch_size=16",
        "--set", "student.depth=2", "--set", "student.embed_dim=64", "--set", "eval.probe_steps=20",
        "--set", "train.checkpoint_every=1000", "--set", $"train.cache_dir={At("cache")}",
    ];

    [Theory]
    [InlineData(2)]    // SIGINT
    [InlineData(15)]   // SIGTERM
    public void Distill_saves_on_a_signal_and_resumes_exactly(int signal)
    {
        var full = CliProcess.Run(Distill("full"));
        Assert.True(full.ExitCode == 0, full.Stderr);

        AssertInterrupted(CliProcess.RunAndSignal(Distill("signalled"), "step 25/150", signal));
        long saved = TrainingCheckpoint.List(At("signalled")).Max(c => c.Step);
        Assert.InRange(saved, 25, 149);

        var resumed = CliProcess.Run(Distill("signalled"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(Losses(At("full")), Losses(At("signalled")));
    }

    private string[] MaskLlm(string outDir) =>
    [
        "sparsify", "--model", SharedAssets.Stories260KPath, "--method", "maskllm", "--out", At(outDir),
        "--steps", "60", "--batch-size", "2", "--seq-len", "64", "--calib-samples", "4", "--calib-seq-len", "64",
        "--eval-docs", "40", "--threads", "1", "--progress", "lines", "--checkpoint-every", "1000", "--json",
    ];

    [Theory]
    [InlineData(2)]    // SIGINT
    [InlineData(15)]   // SIGTERM
    public void MaskLlm_saves_on_a_signal_and_resumes_exactly(int signal)
    {
        var full = CliProcess.Run(MaskLlm("full"));
        Assert.True(full.ExitCode == 0, full.Stderr);

        AssertInterrupted(CliProcess.RunAndSignal(MaskLlm("signalled"), "step 9/60", signal));
        var run = Path.Combine(At("signalled"), "maskllm-run");
        long saved = TrainingCheckpoint.List(run).Max(c => c.Step);
        Assert.InRange(saved, 9, 59);

        var resumed = CliProcess.Run(MaskLlm("signalled"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(Losses(Path.Combine(At("full"), "maskllm-run")), Losses(run));
        static double Ppl(CliProcess.Result r) => r.Json().GetProperty("methods").GetProperty("maskllm").GetProperty("ppl").GetDouble();
        Assert.Equal(Ppl(full), Ppl(resumed));
    }
}
