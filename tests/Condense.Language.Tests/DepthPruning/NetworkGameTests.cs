using Condense.Core;
using Condense.Language.DepthPruning;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Tests.DepthPruning;

public sealed class NetworkGameTests
{
    private static readonly LlamaConfig Micro = new(Dim: 16, HiddenDim: 24, NLayers: 3, NHeads: 4, NKvHeads: 2,
        VocabSize: 40, MaxSeqLen: 32);

    internal static CalibrationSet RandomData(int sequences, int length, int seed)
    {
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, sequences * (length + 1)).Select(_ => rng.Next(40)).ToArray();
        var labels = ids.Select(_ => (sbyte)rng.Next(-1, 2)).ToArray();
        return CalibrationSet.From(Text.TokenCorpus.FromStream(ids, labels), sequences, length, "random");
    }

    internal static LlamaForCausalLM MicroModel(int seed)
    {
        manual_seed(seed);
        var model = new LlamaForCausalLM(Micro);
        // HF's std 0.02 init makes every update tiny; larger weights give the units real, distinct effects.
        using var noGrad = no_grad();
        foreach (var p in model.parameters()) if (p.dim() == 2) p.mul_(10);
        model.eval();
        return model;
    }

    [Theory]
    [InlineData(UnitGranularity.Block)]
    [InlineData(UnitGranularity.Sublayer)]
    public void Keeping_every_unit_reproduces_the_model(UnitGranularity granularity)
    {
        using var scope = NewDisposeScope();
        using var model = MicroModel(1);
        var net = new UnitNetwork(model, granularity);
        Assert.Equal(granularity == UnitGranularity.Block ? 3 : 6, net.Units.Count);
        var tokens = randint(0, 40, [2, 10], dtype: int64);
        using var noGrad = no_grad();
        Assert.True(net.Logits(tokens, net.AllUnits).allclose(model.call(tokens), rtol: 1e-5, atol: 1e-5));
        Assert.Equal(["attn0", "mlp0", "attn1"], DepthUnit.For(3, UnitGranularity.Sublayer).Take(3).Select(u => u.Name));
    }

    [Fact]
    public void Depth_first_enumeration_matches_evaluating_each_coalition()
    {
        using var scope = NewDisposeScope();
        using var model = MicroModel(2);
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = RandomData(sequences: 3, length: 8, seed: 1);
        // Players: units 1..4; unit 0 fixed kept, unit 5 fixed removed.
        using var game = new NetworkGame(net, data, [1, 2, 3, 4], fixedKeep: 1, rowsPerBatch: 2);
        var table = game.AllValues();
        Assert.Equal(16, table.Length);
        foreach (var mask in new ulong[] { 0, 5, 10, 15 })
        {
            var direct = game.Value(mask);
            for (int g = 0; g < 4; g++) Assert.Equal(direct[g], table[mask][g], 4);
        }
        Assert.Equal(0, table[15][1], 4);                           // no distance from the reference
        Assert.True(table[0][1] > 0.1);
        Assert.Equal(0b011111UL, game.UnitMask(15));
        var exact = ExactShapley.FromTable(4, game.ValueNames, table);
        Assert.All(exact, e => Assert.Equal(0, e.EfficiencyGap, 9));
    }

    [Fact]
    public void Per_sample_values_average_to_the_whole_set_value()
    {
        using var scope = NewDisposeScope();
        using var model = MicroModel(3);
        var net = new UnitNetwork(model, UnitGranularity.Block);
        using var data = RandomData(sequences: 4, length: 6, seed: 2);
        using var game = new NetworkGame(net, data, [0, 1, 2], fixedKeep: 0);
        var whole = game.Value(0b101);
        var mean = Enumerable.Range(0, 4).Average(s => game.Value(0b101, s)[0]);
        Assert.Equal(whole[0], mean, 4);
    }

    [Fact]
    public void A_unit_with_a_zero_update_measures_zero()
    {
        using var scope = NewDisposeScope();
        using var model = MicroModel(4);
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
                if (name == "model.layers.1.mlp.down_proj.weight") p.zero_();
        }
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = RandomData(sequences: 2, length: 8, seed: 3);
        var m = UpdateMetrics.Measure(net, data, keep: net.AllUnits & ~1UL);
        Assert.Equal(0, m.Cosine[3], 6);
        Assert.Equal(0, m.RelativeL1[3], 6);
        Assert.Equal(0, m.RelativeL2[3], 6);
        Assert.True(m.Cosine[2] > 1e-3 && m.RelativeL2[2] > 1e-2);
        Assert.True(double.IsNaN(m.Cosine[0]));                    // removed: not measured
    }

    [Fact]
    public void Calibration_text_too_short_is_an_input_error()
    {
        var ex = Assert.Throws<InputException>(() =>
            CalibrationSet.From(Text.TokenCorpus.FromStream(new int[100], new sbyte[100]), 4, 32, "cal.txt"));
        Assert.Contains("cal.txt: calibration text too short: 100 tokens", ex.Message);
    }

    [Fact]
    public void Dialogue_labels_follow_quotes_and_reset_at_newlines()
    {
        var labels = Text.DialogueLabels.Label(["Tim", " said", ",", " \"", "Hi", " mom", "!\"", " She", "\n\"", "Oh", "\n", "Then"]);
        Assert.Equal(new sbyte[] { 0, 0, 0, -1, 1, 1, -1, 0, -1, 1, 1, 0 }, labels);
    }
}
