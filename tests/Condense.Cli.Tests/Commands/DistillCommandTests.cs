using Condense.Testing;
namespace Condense.Cli.Tests.Commands;

/// <summary>`condense distill --json` and `condense eval --json` on a small real run, plus bad input.</summary>
public sealed class DistillCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-distill-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private string[] Small(params string[] extra) =>
    [
        "distill", "--teachers", "resnet8,hog", "--steps", "12", "--progress", "none", "--run-dir", Path.Combine(_root, "run"),
        "--set", "data.train_images=128", "--set", "data.test_images=64", "--set", "train.batch_size=16",
        "--set", "student.depth=2", "--set", "student.embed_dim=64", "--set", "eval.probe_steps=20",
        "--set", $"train.cache_dir={Path.Combine(_root, "cache")}", .. extra,
    ];

    [Fact]
    public void DistillJsonHasTheReportAndTheKnnTableAndEvalReproducesIt()
    {
        var r = CliProcess.Run(Small("--json"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.True(File.Exists(json.GetProperty("report").GetString()));
        var knn = Assert.Single(json.GetProperty("knn").EnumerateArray());
        Assert.Equal("resnet8", knn.GetProperty("teacher").GetString());
        Assert.InRange(knn.GetProperty("teacher_accuracy").GetDouble(), 0.2, 1.0);
        Assert.InRange(knn.GetProperty("student_accuracy").GetDouble(), 0.0, 1.0);
        Assert.InRange(json.GetProperty("combined_student_accuracy").GetDouble(), 0.0, 1.0);
        Assert.Equal(12, json.GetProperty("steps").GetInt64());

        var doc = Path.Combine(_root, "docs", "results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(doc)!);
        File.WriteAllText(doc, "# Results\n\nHand-written notes stay.\n");
        var e = CliProcess.Run("eval", Path.Combine(_root, "run"), "--out", Path.Combine(_root, "eval"), "--progress", "none", "--json",
            "--doc", doc, "--section", "small-run");
        Assert.True(e.ExitCode == 0, e.Stderr);
        Assert.Equal(knn.GetProperty("student_accuracy").GetDouble(),
            e.Json().GetProperty("knn")[0].GetProperty("student_accuracy").GetDouble(), 6);

        // --doc: the tables between the section's markers under the command, the JSON result beside the doc
        var text = File.ReadAllText(doc);
        Assert.Contains("Hand-written notes stay.", text, StringComparison.Ordinal);
        Assert.Contains("<!-- small-run:begin -->", text, StringComparison.Ordinal);
        Assert.Contains("./condense eval ", text, StringComparison.Ordinal);
        Assert.Contains("| resnet8 |", text, StringComparison.Ordinal);
        Assert.Contains("fidelity = Var/MSE", text, StringComparison.Ordinal);
        using var twin = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "docs", "small-run.json")));
        Assert.Equal(knn.GetProperty("student_accuracy").GetDouble(),
            twin.RootElement.GetProperty("knn")[0].GetProperty("student_accuracy").GetDouble(), 6);
    }

    [Fact]
    public void ASectionNameThatIsNotAFileNameIsBadInput()
    {
        var r = CliProcess.Run("eval", Path.Combine(_root, "missing-run"), "--doc", Path.Combine(_root, "d.md"), "--section", "../up");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--section '../up'", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--set", "teachers[1].kind=dinov9", "unknown teacher 'dinov9'")]
    [InlineData("--set", "data.resolution=30", "data.resolution = 30")]
    [InlineData("--set", "train.stepz=3", "unknown key 'stepz'")]
    [InlineData("--teachers", "sam", "no teacher 'sam'")]
    public void BadInputIsOneLineAndExitCode2(string option, string value, string expected)
    {
        var args = Small().ToList();
        if (option == "--teachers") args[args.IndexOf("--teachers") + 1] = value;
        else args.AddRange([option, value]);
        var r = CliProcess.Run([.. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void EvalOfAMissingCheckpointIsBadInput()
    {
        var r = CliProcess.Run("eval", Path.Combine(_root, "nope.safetensors"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("nope.safetensors", r.Stderr, StringComparison.Ordinal);
    }
}
