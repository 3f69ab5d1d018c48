using Condense.Language.Elastic;
using Condense.Testing;

namespace Condense.Language.Tests.Elastic;

public sealed class LatencyTableTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-latency-");

    public void Dispose() => _temp.Dispose();

    private static readonly LatencyOptions Quick = new() { PrefillTokens = 16, DecodeContext = 16, Repeats = 2, Warmup = 1, Rounds = 1 };

    [Theory]
    [InlineData(LatencyEngine.Torch)]
    [InlineData(LatencyEngine.Native)]
    public void The_table_has_an_entry_per_candidate_and_its_prediction_is_checked_against_real_sub_networks(LatencyEngine engine)
    {
        using var lm = SharedModels.LoadStories260K();
        var options = Quick with { Engine = engine };
        var table = LatencyTable.Measure(lm.Config, ElasticCandidates.Default, options);
        Assert.Equal(engine, table.Engine);
        Assert.Equal([1, 2, 3, 4], table.Attention.Keys.Order());
        Assert.Equal([43, 86, 129, 172], table.Mlp.Keys.Order());
        // Measured entries are positive; the fixed part is a difference of timings (full model − Σ blocks) and may
        // come out negative on a noisy machine, so only its definition is checked (below), never its sign.
        Assert.All(table.Attention.Values.Concat(table.Mlp.Values).Append(table.FullModel!), e => Assert.True(e.PrefillMs > 0 && e.DecodeMs > 0));
        var full = ElasticWidths.Full(lm.Config);
        double expected = table.Fixed.PrefillMs + table.BlockScale.PrefillMs * lm.Config.NLayers * (table.Attention[4].PrefillMs + table.Mlp[172].PrefillMs);
        Assert.Equal(expected, table.Predict(full, decode: false), 9);
        // fixed and scale are calibrated on the full and the narrowest model (unless noise made the slope non-positive)
        Assert.Equal(table.FullModel!.PrefillMs, table.Predict(full, decode: false), 9);
        Assert.Equal(table.FullModel!.DecodeMs, table.Predict(full, decode: true), 9);
        var narrowest = ElasticWidths.Uniform(lm.Config, 0.25, 0.25);
        if (table.BlockScale.DecodeMs != 1) Assert.Equal(table.NarrowModel!.DecodeMs, table.Predict(narrowest, decode: true), 9);
        if (table.BlockScale.PrefillMs != 1) Assert.Equal(table.NarrowModel!.PrefillMs, table.Predict(narrowest, decode: false), 9);

        var path = Path.Combine(_temp.Path, "lut.json");
        table.Save(path);
        var loaded = LatencyTable.Load(path);
        Assert.Equal(table.Predict(full, decode: true), loaded.Predict(full, decode: true), 9);
        Assert.Equal(table.Machine, loaded.Machine);
        Assert.Equal(engine, loaded.Engine);

        var checks = LatencyValidation.Check(new ElasticLlama(lm), table, [full, ElasticWidths.Uniform(lm.Config, 0.25, 0.25)], options);
        Assert.Equal(2, checks.Count);
        Assert.All(checks, c => Assert.True(c.MeasuredPrefillMs > 0 && c.MeasuredDecodeMs > 0 && double.IsFinite(c.PrefillError)));
    }

    [Fact]
    public void Query_head_candidates_get_their_own_entries_and_the_narrowest_keeps_one_query_head_per_layer()
    {
        using var lm = SharedModels.LoadStories260K();
        var candidates = ElasticCandidates.Default with { QueryFractions = [0.5, 1] };
        var table = LatencyTable.Measure(lm.Config, candidates, Quick with { Engine = LatencyEngine.Native });
        Assert.Equal([1, 2, 3, 4], table.Attention.Keys.Order());
        Assert.Equal(["1x1", "2x1", "3x1", "4x1"], table.QueryAttention!.Keys.Order());
        var smallest = candidates.Smallest(lm.Config);
        Assert.Equal(table.QueryAttention["1x1"], table.AttentionEntry(smallest.Layers[0]));
        if (table.BlockScale.DecodeMs != 1) Assert.Equal(table.NarrowModel!.DecodeMs, table.Predict(smallest, decode: true), 9);
        var path = Path.Combine(_temp.Path, "lut-q.json");
        table.Save(path);
        var loaded = LatencyTable.Load(path);
        Assert.Equal(table.Predict(smallest, decode: true), loaded.Predict(smallest, decode: true), 9);
        // A table of whole groups has no entry for a partial group: the error names the attention width.
        var whole = LatencyTable.Measure(lm.Config, ElasticCandidates.Default, Quick with { Engine = LatencyEngine.Native });
        var ex = Assert.Throws<ArgumentException>(() => whole.Predict(smallest, decode: true));
        Assert.Contains("attention 1x1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_width_the_table_never_measured_is_named()
    {
        using var lm = SharedModels.LoadStories260K();
        var table = LatencyTable.Measure(lm.Config, new ElasticCandidates([0.5], [1.0]), Quick);
        var ex = Assert.Throws<ArgumentException>(() => table.Predict(ElasticWidths.Uniform(lm.Config, 0.25, 1.0), decode: false));
        Assert.StartsWith("the latency table has no entry for 43 MLP neurons", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_written_before_engines_were_recorded_is_torchs()
    {
        using var lm = SharedModels.LoadStories260K();
        var table = LatencyTable.Measure(lm.Config, new ElasticCandidates([1.0], [1.0]), Quick with { Engine = LatencyEngine.Torch });
        var path = Path.Combine(_temp.Path, "old.json");
        table.Save(path);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.True(json.Remove("engine"));
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(LatencyEngine.Torch, LatencyTable.Load(path).Engine);
    }

    [Fact]
    public void A_file_that_is_not_a_table_is_a_one_line_error()
    {
        var path = Path.Combine(_temp.Path, "bad.json");
        File.WriteAllText(path, "{ not json");
        var ex = Assert.Throws<Condense.Core.InputException>(() => LatencyTable.Load(path));
        Assert.StartsWith($"{path}: not a latency table", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
