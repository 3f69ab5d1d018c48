using Condense.Core.Training;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>
/// `condense train` end to end on real MNIST, including the promise that matters most: a run killed mid-way
/// (SIGKILL, no chance to clean up) and started again with the same command continues from its last checkpoint
/// and produces exactly the losses of an uninterrupted run.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-train-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    // 60 steps, a checkpoint every 20, unless extra gives --steps or --checkpoint-every
    private string[] Args(string runDir, params string[] extra) =>
    [
        "train", "--dataset", "mnist", .. extra.Contains("--steps") ? Array.Empty<string>() : ["--steps", "60"],
        .. extra.Contains("--checkpoint-every") ? Array.Empty<string>() : ["--checkpoint-every", "20"], "--train-subset", "2000",
        "--eval-subset", "500", "--batch-size", "32", "--progress", "lines", "--run-dir", Path.Combine(_root, runDir), .. extra,
    ];

    private List<double> Losses(string runDir) =>
        MetricsLog.Read(Path.Combine(_root, runDir, "metrics.jsonl")).Select(r => r["loss"]).ToList();

    [Fact]
    public void KilledRunResumesWithTheSameLossesAsAnUninterruptedRun()
    {
        var full = CliProcess.Run(Args("full", "--json"));
        Assert.True(full.ExitCode == 0, full.Stderr);
        var fullJson = full.Json();
        Assert.Equal(60, fullJson.GetProperty("steps").GetInt64());
        Assert.Equal(0, fullJson.GetProperty("resumed_from_step").GetInt64());
        Assert.True(fullJson.GetProperty("test_accuracy").GetDouble() > 0.2, "60 steps on MNIST should be well above chance (10%)");
        Assert.True(File.Exists(fullJson.GetProperty("report").GetString()));

        // Start the same run elsewhere and kill it once it has logged step 40.
        using (var p = CliProcess.Start(Args("killed")))
        {
            string? line;
            while ((line = p.StandardError.ReadLine()) is not null && !line.Contains("step 40/60", StringComparison.Ordinal)) { }
            Assert.NotNull(line);
            p.Kill();
            p.WaitForExit();
        }
        var partial = Losses("killed");
        Assert.InRange(partial.Count, 40, 59);

        var resumed = CliProcess.Run(Args("killed", "--json"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        var json = resumed.Json();
        Assert.Contains(json.GetProperty("resumed_from_step").GetInt64(), new long[] { 20, 40 });
        Assert.Equal(Losses("full"), Losses("killed"));
    }

    [Fact]
    public void UnknownDatasetIsBadUsage()
    {
        var r = CliProcess.Run("train", "--dataset", "imagenet-22k");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("imagenet-22k", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void BadLearningRateNamesTheField()
    {
        var r = CliProcess.Run(Args("bad", "--lr", "-1"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("LearningRate", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]    // SIGINT (Ctrl+C)
    [InlineData(15)]   // SIGTERM
    public void SignalledRunSavesACheckpointExitsOneAndResumesExactly(int signal)
    {
        // 400 steps with no periodic checkpoint: the only checkpoint mid-run is the one the signal makes
        string[] Long(string dir, params string[] extra) => Args(dir, ["--steps", "400", "--checkpoint-every", "1000", .. extra]);
        var full = CliProcess.Run(Long("full"));
        Assert.True(full.ExitCode == 0, full.Stderr);

        var run = Path.Combine(_root, "signalled");
        var signalled = CliProcess.RunAndSignal(Long("signalled"), "step 40/400", signal);
        var (exitCode, stderr) = (signalled.ExitCode, signalled.Stderr);
        Assert.True(exitCode == 1, stderr);
        Assert.Contains("interrupted; rerun the same command to resume", stderr, StringComparison.Ordinal);
        long saved = TrainingCheckpoint.List(run).Max(c => c.Step);
        Assert.InRange(saved, 40, 399);
        Assert.Equal(saved, Losses("signalled").Count);

        var resumed = CliProcess.Run(Long("signalled", "--json"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(saved, resumed.Json().GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(Losses("full"), Losses("signalled"));
    }

    [Fact]
    public void ResumingWithOtherSettingsIsRefusedUnlessAllowed()
    {
        var first = CliProcess.Run(Args("run", "--steps", "20"));
        Assert.True(first.ExitCode == 0, first.Stderr);
        var refused = CliProcess.Run(Args("run", "--seed", "1", "--lr", "0.01"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--allow-config-change is off", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("seed 0 → 1", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("learning_rate 0.002 → 0.01", refused.Stderr, StringComparison.Ordinal);
        Assert.Single(refused.Stderr.Trim().Split('\n'));

        var allowed = CliProcess.Run(Args("run", "--seed", "1", "--lr", "0.01", "--allow-config-change", "--json"));
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        Assert.Equal(20, allowed.Json().GetProperty("resumed_from_step").GetInt64());
    }

    [Fact]
    public void ASecondWriterOnTheRunFolderIsRefusedWithTheHoldersPid()
    {
        var run = Path.Combine(_root, "busy");
        Directory.CreateDirectory(run);
        using var holder = new FileStream(Path.Combine(run, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        File.WriteAllText(Path.Combine(run, ".lock.owner"), "31337");
        var r = CliProcess.Run(Args("busy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("in use by another Condense process (pid 31337)", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "metrics.jsonl")));
    }

    [Fact]
    public void NegativeTrainSubsetNamesTheFlag()
    {
        var r = CliProcess.Run(Args("neg", "--train-subset", "-10"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--train-subset", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void RunDirThatIsAFileIsRefusedBeforeAnyWork()
    {
        var file = Path.Combine(_root, "not-a-folder");
        File.WriteAllText(file, "x");
        var r = CliProcess.Run("train", "--dataset", "mnist", "--steps", "5", "--run-dir", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--run-dir", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("is a file", r.Stderr, StringComparison.Ordinal);
    }
}
