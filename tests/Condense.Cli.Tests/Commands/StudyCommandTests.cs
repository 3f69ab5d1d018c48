using Condense.Testing;
namespace Condense.Cli.Tests.Commands;

public sealed class StudyCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-study-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void BackbonesStudyCalibratesTrainsAndComparesTheStudentsInPairs()
    {
        var doc = Path.Combine(_root, "backbones.md");
        var r = CliProcess.Run("study", "backbones", "--students", "fastervit_micro,eradio_micro", "--budget", "0.5", "--seeds", "2",
            "--run-dir", Path.Combine(_root, "runs"), "--doc", doc, "--progress", "none", "--json",
            "--set", "data.train_images=128", "--set", "data.test_images=64", "--set", "train.batch_size=16", "--set", "eval.probe_steps=20",
            "--set", $"train.cache_dir={Path.Combine(_root, "cache")}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        var runs = json.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(4, runs.Count);
        Assert.All(runs, run =>
        {
            Assert.Equal(20, run.GetProperty("steps").GetInt64());     // a 0.5 s budget is below the 20-step floor
            Assert.InRange(run.GetProperty("median_step_cpu_seconds").GetDouble(), 1e-4, 60);
            Assert.InRange(run.GetProperty("backbone_knn").GetDouble(), 0.0, 1.0);
        });
        var pair = Assert.Single(json.GetProperty("comparisons").EnumerateArray());
        Assert.Equal("fastervit_micro", pair.GetProperty("a").GetString());
        Assert.InRange(pair.GetProperty("a_only").GetInt32() + pair.GetProperty("b_only").GetInt32(), 0, 2 * 64);
        Assert.Contains("<!-- backbones-budget:begin -->", File.ReadAllText(doc), StringComparison.Ordinal);
        Assert.Contains("Data: Fashion-MNIST", File.ReadAllText(doc), StringComparison.Ordinal);     // the doc names its data source
        Assert.StartsWith("Fashion-MNIST", json.GetProperty("data_source").GetString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_root, "backbones.json")));
    }

    [Fact]
    public void OptimizerStudyPairsEachArmWithTheRecipesOwnOptimizer()
    {
        var r = CliProcess.Run("study", "optimizer", "--arms", "lamb:0.002,adamw:0.003", "--seeds", "1", "--run-dir", Path.Combine(_root, "opt"),
            "--progress", "none", "--json", "--set", "data.train_images=128", "--set", "data.test_images=64", "--set", "train.steps=4",
            "--set", "train.warmup_steps=1", "--set", "train.batch_size=16", "--set", "eval.probe_steps=5", "--set", "teachers[0].input_size=32",
            "--set", $"train.cache_dir={Path.Combine(_root, "cache")}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.Equal("adamw:0.003", json.GetProperty("reference").GetString());     // the default recipe's optimizer and lr
        Assert.Equal(2, json.GetProperty("runs").GetArrayLength());
        var comparisons = json.GetProperty("comparisons").EnumerateArray().ToList();
        Assert.Equal(2, comparisons.Count);                                           // lamb vs adamw on two metrics
        Assert.All(comparisons, c => Assert.Equal("lamb:0.002", c.GetProperty("a").GetString()));
    }

    [Fact]
    public void FlextronStudyComparesTheElasticRunWithPruningAndRetrainingAtEveryWidth()
    {
        var doc = Path.Combine(_root, "flextron.md");
        var r = CliProcess.Run("study", "flextron", "--models", SharedAssets.Stories260KPath, "--seeds", "1", "--steps", "4", "--batch-size", "2",
            "--seq-len", "16", "--widths", "0.5,1", "--max-docs", "10", "--run-dir", Path.Combine(_root, "fx"), "--doc", doc, "--progress", "none", "--latency-rounds", "3", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        foreach (var method in new[] { "pruned", "retrained", "flextron" })
            Assert.Equal(2, rows.Count(x => x.GetProperty("method").GetString() == method));
        // The retrained widths together see the elastic run's tokens.
        long elastic = rows.First(x => x.GetProperty("method").GetString() == "flextron").GetProperty("training_tokens").GetInt64();
        Assert.Equal(elastic, rows.Where(x => x.GetProperty("method").GetString() == "retrained").Sum(x => x.GetProperty("training_tokens").GetInt64()));
        Assert.Contains("<!-- flextron-widths:begin -->", File.ReadAllText(doc), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_root, "flextron-ppl.png")));
        // Each width's latency, measured against the full model: the half-width model is cheaper.
        var latency = r.Json().GetProperty("latency").EnumerateArray().ToDictionary(x => x.GetProperty("width").GetDouble(), x => x.GetProperty("decode_share").GetDouble());
        Assert.Equal([0.5, 1.0], latency.Keys.Order());
        Assert.InRange(latency[0.5], 0.05, 0.95);
        Assert.True(File.Exists(Path.Combine(_root, "flextron-ppl-latency.png")));

        // The same runs re-scored on two splits: the selection split is the study's documents, so its numbers are the study's.
        var h = CliProcess.Run("study", "flextron-held-out", "--model", SharedAssets.Stories260KPath, "--setting", "plain=" + Path.Combine(_root, "fx"),
            "--seeds", "1", "--widths", "0.5,1", "--selection-docs", "10", "--report-docs", "10", "--doc", doc, "--json");
        Assert.True(h.ExitCode == 0, h.Stderr);
        Assert.Equal("plain", h.Json().GetProperty("selected").GetString());
        var scored = h.Json().GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(4, scored.Count);
        foreach (var w in new[] { 0.5, 1.0 })
        {
            double Study(string method) => rows.Single(x => x.GetProperty("method").GetString() == method && x.GetProperty("width").GetDouble() == w).GetProperty("perplexity").GetDouble();
            var selection = scored.Single(x => x.GetProperty("split").GetString() == "selection" && x.GetProperty("width").GetDouble() == w);
            Assert.Equal(Study("flextron"), selection.GetProperty("perplexity").GetDouble(), 9);
            Assert.Equal(Study("retrained"), selection.GetProperty("retrained_perplexity").GetDouble(), 9);
            // The report split is other text: other numbers.
            var report = scored.Single(x => x.GetProperty("split").GetString() == "report" && x.GetProperty("width").GetDouble() == w);
            Assert.NotEqual(selection.GetProperty("perplexity").GetDouble(), report.GetProperty("perplexity").GetDouble());
        }
        Assert.Contains("<!-- flextron-held-out:begin -->", File.ReadAllText(doc), StringComparison.Ordinal);

        var missing = CliProcess.Run("study", "flextron-held-out", "--model", SharedAssets.Stories260KPath, "--setting", "none=" + Path.Combine(_root, "absent"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("'none'", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_held_out_setting_without_a_run_folder_is_bad_input()
    {
        var r = CliProcess.Run("study", "flextron-held-out", "--setting", "plain");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--setting 'plain'", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenCompressionJsonHasEveryMethodAtBothRatios()
    {
        var r = CliProcess.Run("study", "token-compression", "--input-size", "32", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        foreach (var method in new[] { "tome", "tome-kth", "avgpool", "unshuffle", "unshuffle-pca" })
            foreach (var ratio in new[] { 4, 16 })
                Assert.Contains(rows, row => row.GetProperty("method").GetString() == method && row.GetProperty("ratio").GetInt32() == ratio
                    && row.GetProperty("tokens_out").GetInt64() == 64 / ratio);
    }

    [Fact]
    public void BadInputSizeIsBadInput()
    {
        var r = CliProcess.Run("study", "token-compression", "--input-size", "40");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--input-size 40", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("study", "agglomeration", "--seeds", "0")]
    [InlineData("study", "maskllm-seeds", "--model", "no-such-model.bin")]
    [InlineData("study", "backbones", "--seeds", "0")]
    [InlineData("study", "backbones", "--budget", "-5")]
    [InlineData("study", "backbones", "--students", "no_such_student")]
    [InlineData("study", "optimizer", "--arms", "sgd:0.1,adamw:0.003")]
    [InlineData("study", "optimizer", "--arms", "lamb:-1,adamw:0.003")]
    [InlineData("study", "optimizer", "--arms", "lamb")]
    [InlineData("study", "optimizer", "--seeds", "0")]
    [InlineData("study", "flextron", "--widths", "0.5,2")]
    [InlineData("study", "flextron", "--seeds", "0")]
    [InlineData("study", "flextron", "--latency-rounds", "-1")]
    [InlineData("study", "flextron", "--full-weight", "-1")]
    [InlineData("study", "flextron", "--sandwich", "--subnetworks", "0")]
    [InlineData("study", "flextron", "--query-widths", "0")]
    [InlineData("eval-ppl", "--doc", "x.md", "--section", "a b")]
    [InlineData("study", "flextron-routing", "--model", "none", "--latency", "none.json", "--doc", "x.md", "--section", "a b")]
    [InlineData("study", "flextron-routing", "--model", "none", "--latency", "none.json", "--variant", "no such variant")]
    [InlineData("study", "flextron-routing", "--model", "none", "--latency", "none.json", "--first-seed", "-1")]
    [InlineData("bench", "conv-paths", "--rounds", "0")]
    [InlineData("bench", "train-step", "--models", "no_such_model")]
    [InlineData("bench", "lm", "--gen-tokens", "1")]
    [InlineData("bench", "conv-paths", "--models", "no_such_model")]
    [InlineData("bench", "routed-mlp", "--rounds", "0")]
    [InlineData("bench", "routed-mlp", "--models", "no_such_model")]
    public void Bad_input_to_the_new_studies_is_a_one_line_error(params string[] args)
    {
        var r = CliProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        var error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.True(error.Contains(args[^1], StringComparison.Ordinal) || error.Contains(args[^2], StringComparison.Ordinal), error);
    }
}
