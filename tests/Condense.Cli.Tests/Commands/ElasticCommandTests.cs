using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

public sealed class ElasticCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-elastic-cli-");

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Train_eval_and_export_round_trip_through_eval_ppl()
    {
        var train = CliProcess.Run("elastic", "train", "--out", _root, "--steps", "4", "--batch-size", "2", "--seq-len", "32", "--calib-samples", "4",
            "--progress", "none", "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Equal(4 * 2 * 32, train.Json().GetProperty("training_tokens").GetInt64());
        var elastic = Path.Combine(_root, "elastic");
        Assert.True(File.Exists(Path.Combine(elastic, "elastic.json")));

        var eval = CliProcess.Run("elastic", "eval", "--model", elastic, "--widths", "0.5,1", "--max-docs", "30", "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var rows = eval.Json().GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        double half = rows[0].GetProperty("perplexity").GetDouble();
        Assert.True(rows[0].GetProperty("parameters").GetInt64() < rows[1].GetProperty("parameters").GetInt64());

        var export = CliProcess.Run("elastic", "export", "--model", elastic, "--width", "0.5", "--out", Path.Combine(_root, "w50"), "--json");
        Assert.True(export.ExitCode == 0, export.Stderr);
        foreach (var exported in new[] { Path.Combine(_root, "w50", "hf"), Path.Combine(_root, "w50", "model.bin") })
        {
            var ppl = CliProcess.Run("eval-ppl", "--model", exported, "--max-docs", "30", "--progress", "none", "--json");
            Assert.True(ppl.ExitCode == 0, ppl.Stderr);
            Assert.Equal(half, ppl.Json().GetProperty("ppl").GetDouble(), 3);
        }

        // Routers: a latency table, staged router training, then routed evaluation and export by budget.
        var lut = Path.Combine(_root, "lut.json");
        var latency = CliProcess.Run("elastic", "latency", "--out", lut, "--rounds", "1", "--repeats", "2", "--prefill-tokens", "16", "--decode-context", "16",
            "--check", "1", "--json");
        Assert.True(latency.ExitCode == 0, latency.Stderr);
        Assert.Equal(2, latency.Json().GetProperty("checks").GetArrayLength());           // the full model and one sampled sub-network
        Assert.Equal("native", latency.Json().GetProperty("lut").GetProperty("engine").GetString());   // the engine generate runs
        var routed = Path.Combine(_root, "routed");
        var routers = CliProcess.Run("elastic", "routers", "--model", elastic, "--latency", lut, "--out", routed, "--surrogate-steps", "4",
            "--router-steps", "4", "--joint-steps", "2", "--surrogate-threshold", "100", "--json");
        Assert.True(routers.ExitCode == 0, routers.Stderr);
        Assert.Equal(4, routers.Json().GetProperty("result").GetProperty("router_updates").GetInt32());
        var byBudget = CliProcess.Run("elastic", "eval", "--model", routed, "--budgets", "0.5,1", "--max-docs", "10", "--json");
        Assert.True(byBudget.ExitCode == 0, byBudget.Stderr);
        Assert.Equal(2, byBudget.Json().GetProperty("rows").GetArrayLength());
        var exportBudget = CliProcess.Run("elastic", "export", "--model", routed, "--budget", "0.5", "--out", Path.Combine(_root, "b50"), "--json");
        Assert.True(exportBudget.ExitCode == 0, exportBudget.Stderr);
        // Per-token MLP routers: trained once, then loaded and evaluated again.
        var dyn = Path.Combine(_root, "dyn.safetensors");
        string[] dynamicArgs = ["elastic", "dynamic", "--model", elastic, "--out", dyn, "--steps", "3", "--max-docs", "5", "--rounds", "1", "--prefill-tokens", "16", "--decode-context", "16", "--json"];
        var dynamic = CliProcess.Run(dynamicArgs);
        Assert.True(dynamic.ExitCode == 0, dynamic.Stderr);
        Assert.Equal(2, dynamic.Json().GetProperty("rows").GetArrayLength());
        var first = dynamic.Json().GetProperty("rows")[0];
        // The native engine, grouping tokens by width, scores as the TorchSharp forward with masks does.
        double torchPpl = first.GetProperty("routed_perplexity").GetDouble(), nativePpl = first.GetProperty("native_routed_perplexity").GetDouble();
        Assert.InRange(Math.Abs(nativePpl / torchPpl - 1), 0, 1e-3);
        Assert.True(first.GetProperty("grouped").GetProperty("decode_ms").GetDouble() > 0);
        Assert.InRange(first.GetProperty("decode_mlp_fraction").GetDouble(), 0.2, 1.0);
        Assert.True(File.Exists(dyn));
        var again = CliProcess.Run(dynamicArgs);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("loaded", again.Stderr, StringComparison.Ordinal);

        // An elastic model without routers has no budgets.
        var noRouters = CliProcess.Run("elastic", "export", "--model", elastic, "--budget", "0.5", "--out", Path.Combine(_root, "x"));
        Assert.Equal(2, noRouters.ExitCode);
        Assert.Contains("no routers.safetensors", noRouters.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("export --model {root} --width 1.5 --out x", "--width 1.5")]
    [InlineData("export --model {root} --width 0.5 --budget 0.5 --out x", "give one of --width or --budget")]
    [InlineData("routers --model {root} --latency {root}/none.json --out x", "none.json: file not found")]
    [InlineData("routers --model {root} --latency {root}/none.json --out x --full-budget-share 1", "--full-budget-share 1: must be")]
    [InlineData("eval --model {root} --widths 0", "--widths '0'")]
    [InlineData("train --out {root}/t --mlp-widths abc", "--mlp-widths 'abc'")]
    [InlineData("train --out {root}/t --query-widths 0", "--query-widths '0'")]
    [InlineData("latency --out {root}/lut.json --query-widths 1.5", "--query-widths '1.5'")]
    [InlineData("train --out {root}/t --full-weight 0", "--full-weight 0")]
    [InlineData("train --out {root}/t --sandwich --subnetworks 0", "--sandwich needs --subnetworks")]
    [InlineData("eval --model {root}", "not an elastic model")]
    [InlineData("latency --out {root}/lut.json --check -1", "--check -1")]
    [InlineData("latency --out {root}/lut.json --engine gpu", "--engine 'gpu'")]
    public void Bad_input_is_one_line_and_exit_2(string args, string message)
    {
        var r = CliProcess.Run(["elastic", .. args.Replace("{root}", _root, StringComparison.Ordinal).Split(' ')]);
        Assert.Equal(2, r.ExitCode);
        var error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }
}
