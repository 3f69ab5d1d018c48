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

    private string[] Args(string runDir, params string[] extra) =>
    [
        "train", "--dataset", "mnist", "--steps", "60", "--checkpoint-every", "20", "--train-subset", "2000",
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
}
