using Condense.Testing;
namespace Condense.Cli.Tests.Commands;

/// <summary>`condense study phi-s` end to end on a tiny budget: two arms, two seeds, real teachers and images.</summary>
public sealed class PhiSStudyCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-phis-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void TinyStudyRanksTheArmsAndWritesTheDoc()
    {
        var doc = Path.Combine(_root, "phi-s.md");
        var r = CliProcess.Run("study", "phi-s", "--arms", "mse,phi-s", "--seeds", "2", "--teachers", "resnet8,hog",
            "--run-dir", Path.Combine(_root, "runs"), "--doc", doc, "--progress", "none", "--json",
            "--set", "train.steps=6", "--set", "data.train_images=128", "--set", "data.test_images=64", "--set", "train.batch_size=16",
            "--set", "eval.probe_steps=20", "--set", $"train.cache_dir={Path.Combine(_root, "cache")}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var arms = r.Json().GetProperty("arms").EnumerateArray().ToList();
        Assert.Equal(["mse", "phi-s"], arms.Select(a => a.GetProperty("arm").GetString()).Order());
        Assert.All(arms, a => Assert.InRange(a.GetProperty("average_rank").GetDouble(), 1.0, 2.0));
        Assert.Contains("| phi-s |", File.ReadAllText(doc), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_root, "phi-s-ranks.png")));
    }

    [Fact]
    public void UnknownArmIsBadInput()
    {
        var r = CliProcess.Run("study", "phi-s", "--arms", "whitening-9000", "--run-dir", Path.Combine(_root, "x"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("whitening-9000", r.Stderr, StringComparison.Ordinal);
    }
}
