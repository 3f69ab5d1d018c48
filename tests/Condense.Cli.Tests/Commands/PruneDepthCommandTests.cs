using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>`condense prune-depth` end to end on the real stories260K with a tiny calibration and evaluation budget.</summary>
public sealed class PruneDepthCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-prune-depth-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static string Model => SharedAssets.Stories260KPath;

    /// <summary>A small-budget command line; options in <paramref name="extra"/> replace the defaults.</summary>
    private string[] Args(params string[] extra)
    {
        var options = new Dictionary<string, string?>
        {
            ["--model"] = Model, ["--calibration-samples"] = "2", ["--calibration-length"] = "32", ["--eval-docs"] = "8",
            ["--permutations"] = "4", ["--subsets-per-sample"] = "2", ["--adapter-steps"] = "20", ["--generate-steps"] = "16",
            ["--no-single-unit-recovery"] = null, ["--out"] = Path.Combine(_root, "out"),
        };
        for (int i = 0; i < extra.Length; i++)
            options[extra[i]] = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal) ? extra[++i] : null;
        return ["prune-depth", .. options.SelectMany(o => o.Value is null ? new[] { o.Key } : [o.Key, o.Value])];
    }

    [Fact]
    public void Prunes_attention_writes_checkpoint_plots_report_and_json()
    {
        var doc = Path.Combine(_root, "docs", "depth.md");
        var r = CliProcess.Run(Args("--units", "attention", "--remove", "2", "--metric", "loss-shapley",
            "--recovery", "mean-bias", "--curves", "loss-shapley,cosine", "--json", "--doc", doc, "--section", "s260k-attention"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        // --doc with --section: the run's tables under the command, the JSON twin beside the doc
        var text = File.ReadAllText(doc);
        Assert.Contains("<!-- s260k-attention:begin -->", text, StringComparison.Ordinal);
        Assert.Contains("### Importance per unit (low = prunable)", text, StringComparison.Ordinal);
        Assert.Contains("### Pruning curves", text, StringComparison.Ordinal);
        Assert.DoesNotContain("![", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_root, "docs", "s260k-attention.json")));
        var json = r.Json();
        Assert.Equal(10, json.GetProperty("unit_names").GetArrayLength());
        var removed = json.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(2, removed.Count);
        Assert.All(removed, u => Assert.StartsWith("attn", u, StringComparison.Ordinal));

        // Exact Shapley of the loss: efficient, with v(all) and v(none) reported.
        var exact = json.GetProperty("estimates").EnumerateArray()
            .Single(e => e.GetProperty("estimator").GetString() == "exact_shapley" && e.GetProperty("value").GetString() == "loss");
        double vAll = exact.GetProperty("v_all").GetDouble(), vNone = exact.GetProperty("v_none").GetDouble();
        double sum = exact.GetProperty("phi").EnumerateArray().Sum(p => p.GetDouble());
        Assert.Equal(vNone - vAll, -sum, 3);
        Assert.True(vNone > vAll);
        Assert.Equal(vAll, json.GetProperty("v_all")[0].GetDouble(), 6);
        Assert.Equal(12, json.GetProperty("unit_metrics")[0].GetProperty("importance").EnumerateObject().Count());

        var curves = json.GetProperty("pruning_curve").EnumerateArray().ToList();
        Assert.Equal(["loss-shapley", "cosine"], curves.Select(c => c.GetProperty("metric").GetString()));
        Assert.All(curves, c => Assert.Equal(6, c.GetProperty("perplexity").GetArrayLength()));  // 0..5 attention removed
        Assert.Equal(["none", "mean-bias", "adapter"],
            json.GetProperty("recovery_results").EnumerateArray().Select(x => x.GetProperty("recovery").GetString()));
        var kv = json.GetProperty("kv_cache").EnumerateArray().ToList();
        Assert.Equal(5, kv[0].GetProperty("cached_layers").GetInt32());
        Assert.Equal(3, kv[1].GetProperty("cached_layers").GetInt32());

        foreach (var key in new[] { "sensitivity_plot", "curve_plot", "report" })
            Assert.True(new FileInfo(json.GetProperty(key).GetString()!).Length > 500, key);
        Assert.True(File.Exists(Path.Combine(json.GetProperty("checkpoint").GetString()!, "config.json")));
        Assert.True(File.Exists(Path.Combine(_root, "out", "recovery.safetensors")));
        Assert.Contains("Estimators vs exact Shapley", File.ReadAllText(json.GetProperty("report").GetString()!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--units", "block", "--remove", "6", "cannot remove 6 units: the model has only 5 blocks")]
    [InlineData("--units", "mlp", "--remove", "9", "cannot remove 9 units: the model has only 5 MLP sub-layers")]
    [InlineData("--metric", "magic", "--remove", "1", "unknown metric 'magic'")]
    [InlineData("--calibration-samples", "50000", "--remove", "1", "calibration text too short")]
    public void Bad_input_is_a_one_line_error_with_exit_2(string o1, string v1, string o2, string v2, string message)
    {
        var r = CliProcess.Run(Args(o1, v1, o2, v2, "--curves", "none", "--json"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Equal("", r.Stdout);
    }
}
