using Condense.Language.Elastic;
using Condense.Language.Models;
using Condense.Language.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Elastic;

public sealed class ElasticLlamaTests
{
    private static Tensor Windows(int n, int length, long seed)
    {
        var corpus = TokenCorpus.FromFile(SharedModels.ValidTextPath, SharedModels.Tok512, maxTokens: 20_000);
        return corpus.RandomWindows(n, length, seed);
    }

    private static double MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().to_type(ScalarType.Float64).item<double>();

    [Fact]
    public void Full_width_elastic_pass_equals_the_models_own_forward()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var elastic = new ElasticLlama(model);
        var tokens = Windows(3, 48, seed: 1);
        using var noGrad = no_grad();
        Assert.True(MaxDifference(elastic.Forward(tokens, ElasticWidths.Full(model.Config)), model.call(tokens)) < 1e-5);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]      // relative to the largest logit: summation order changes with the permutation
    [InlineData(ScalarType.Float64, 1e-12)]     // in float64 the same check leaves no room for anything but rounding
    public void Sorting_units_by_importance_leaves_the_model_unchanged_and_puts_the_largest_first(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        model.to(dtype);
        var elastic = new ElasticLlama(model);
        var calibration = Windows(8, 64, seed: 2);
        var heldOut = Windows(3, 64, seed: 3);
        Tensor before;
        using (no_grad()) before = model.call(heldOut).detach().clone();

        var importance = WidthImportance.Measure(elastic, calibration, batch: 4);
        var order = NestedOrder.FromImportance(model.Config, importance);
        NestedOrder.Validate(model.Config, order);
        Assert.False(order.Mlp.All(o => o.SequenceEqual(Enumerable.Range(0, o.Length))), "every layer kept its order");  // else the test is empty
        Assert.False(order.Groups.All(o => o.SequenceEqual(Enumerable.Range(0, o.Length))), "every layer kept its head order");
        NestedOrder.Apply(model, order);

        using (no_grad())
        {
            var diff = MaxDifference(model.call(heldOut), before);
            double scale = before.abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(diff <= tolerance * scale, $"max |difference| {diff}, logits up to {scale}");
        }
        var after = WidthImportance.Measure(elastic, calibration, batch: 4);
        for (int i = 0; i < model.Config.NLayers; i++)
        {
            Assert.True(IsDescending(after.Mlp[i], 1e-6), $"layer {i} MLP");
            Assert.True(IsDescending(after.Groups[i], 1e-6), $"layer {i} groups");
            Assert.Equal(importance.Mlp[i].OrderDescending(), after.Mlp[i], new Close(1e-5));
        }
    }

    [Fact]
    public void A_narrow_pass_equals_the_full_pass_with_the_dropped_units_zeroed()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var config = model.Config;
        var widths = new ElasticWidths(Enumerable.Range(0, config.NLayers)
            .Select(i => new LayerWidth(MlpNeurons: 20 + 30 * i, HeadGroups: 1 + i % config.NKvHeads)).ToArray());
        var tokens = Windows(2, 40, seed: 4);
        Tensor narrow;
        using (no_grad()) narrow = new ElasticLlama(model).Forward(tokens, widths).detach().clone();

        // Masking: zero the rows that produce the dropped units' activations; the full pass then computes the same.
        using (no_grad())
        {
            int hd = config.HeadDim, rep = config.NHeads / config.NKvHeads;
            for (int i = 0; i < config.NLayers; i++)
            {
                var layer = model.Model.Layers[i];
                var w = widths.Layers[i];
                layer.Mlp!.DownProj.weight!.narrow(1, w.MlpNeurons, config.HiddenDim - w.MlpNeurons).zero_();
                int keptQuery = w.HeadGroups * rep * hd;
                layer.SelfAttn!.OProj.weight!.narrow(1, keptQuery, config.NHeads * hd - keptQuery).zero_();
            }
            // Not bit-equal: the masked pass sums over the zeroed units too, in another order (logits ~10, float32).
            var diff = MaxDifference(model.call(tokens), narrow);
            Assert.True(diff < 1e-4, $"max |difference| {diff}");
        }
    }

    [Fact]
    public void Gradients_of_a_narrow_pass_reach_only_the_kept_units()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var config = model.Config;
        var widths = ElasticWidths.Uniform(config, 0.5, 0.5);
        var tokens = Windows(2, 32, seed: 5);
        var logits = new ElasticLlama(model).Forward(tokens, widths);
        logits.pow(2).mean().backward();
        var mlp = model.Model.Layers[0].Mlp!;
        int k = widths.Layers[0].MlpNeurons;
        Assert.True(mlp.GateProj.weight!.grad!.narrow(0, 0, k).abs().sum().item<float>() > 0);
        Assert.Equal(0f, mlp.GateProj.weight!.grad!.narrow(0, k, config.HiddenDim - k).abs().sum().item<float>());
        Assert.Equal(0f, mlp.DownProj.weight!.grad!.narrow(1, k, config.HiddenDim - k).abs().sum().item<float>());
    }

    [Fact]
    public void An_extracted_sub_network_is_a_dense_model_that_computes_the_narrow_pass_and_survives_both_file_formats()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var config = model.Config;
        var widths = new ElasticWidths(Enumerable.Range(0, config.NLayers)
            .Select(i => new LayerWidth(MlpNeurons: 43 * (1 + i % 4), HeadGroups: 4 - i % 4)).ToArray());
        var elastic = new ElasticLlama(model);
        var tokens = Windows(2, 48, seed: 6);
        using var sub = elastic.Extract(widths);
        Assert.Equal([43, 86, 129, 172, 43], sub.Config.LayerHiddenDims!);
        Assert.Equal(sub.Config.ParameterCount(), sub.parameters().Sum(p => p.numel()));
        Assert.True(sub.parameters().Sum(p => p.numel()) < model.parameters().Sum(p => p.numel()));
        using var noGrad = no_grad();
        var narrow = elastic.Forward(tokens, widths);
        Assert.True(MaxDifference(sub.call(tokens), narrow) < 1e-5);

        AssertBothFileFormatsKeep(sub, tokens, narrow);
    }

    // The Hugging Face folder keeps per-layer widths; llama2.c holds one width per file, so narrow layers are padded
    // with zero units (and kept query heads go back to their slots in each group): the same function either way.
    private static void AssertBothFileFormatsKeep(LlamaForCausalLM sub, Tensor tokens, Tensor narrow)
    {
        using var dir = new Condense.Testing.TempFolder("condense-elastic-");
        var hf = Path.Combine(dir.Path, "hf");
        Condense.Language.Checkpoints.HfLlamaCheckpoint.Write(sub, hf);
        using var fromHf = Condense.Language.Checkpoints.HfLlamaCheckpoint.Read(hf);
        Assert.Equal(sub.Config.PrunedSummary(), fromHf.Config.PrunedSummary());
        var hfDiff = MaxDifference(fromHf.call(tokens), narrow);
        Assert.True(hfDiff < 1e-4, $"HF round trip: {hfDiff}");
        var bin = Path.Combine(dir.Path, "sub.bin");
        Condense.Language.Checkpoints.Llama2cCheckpoint.Write(sub, bin);
        using var fromBin = Condense.Language.Checkpoints.Llama2cCheckpoint.Read(bin);
        Assert.False(fromBin.Config.HasLayerWidths);
        Assert.True(MaxDifference(fromBin.call(tokens), narrow) < 1e-4);
    }

    [Fact]
    public void Fewer_query_heads_per_group_extract_to_a_dense_model_and_pad_back_to_the_same_function()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var config = model.Config;
        // Sort first, so that "the leading query head of a group" is the more important one, as in an elastic run.
        var elastic = new ElasticLlama(model);
        NestedOrder.Apply(model, NestedOrder.FromImportance(config, WidthImportance.Measure(elastic, Windows(4, 64, seed: 9), batch: 4)));
        var widths = new ElasticWidths([new(172, 4, 1), new(86, 1, 1), new(43, 2), new(172, 3, 1), new(129, 1)]);
        widths.Validate(config);
        Assert.Equal("mlp 172/86/43/172/129 groups 4/1/2/3/1 queries 1/1/all/1/all", widths.ToString());
        Assert.Equal("1x1", widths.Layers[1].AttentionKey);
        Assert.Equal("2", widths.Layers[2].AttentionKey);
        var tokens = Windows(2, 48, seed: 10);
        using var sub = elastic.Extract(widths);
        Assert.Equal([4, 1, 4, 3, 2], Enumerable.Range(0, config.NLayers).Select(sub.Config.QueryHeads));
        Assert.Equal(sub.Config.ParameterCount(), sub.parameters().Sum(p => p.numel()));
        Assert.Equal(widths.LinearParameters(config), sub.Model.Layers.Sum(l => l.SelfAttn!.parameters().Concat(l.Mlp!.parameters()).Sum(p => p.numel())));
        using var noGrad = no_grad();
        var narrow = elastic.Forward(tokens, widths);
        Assert.True(MaxDifference(sub.call(tokens), narrow) < 1e-5);
        // Dropping a query head changes the function (else the test above is empty).
        Assert.True(MaxDifference(elastic.Forward(tokens, new ElasticWidths(widths.Layers.Select(w => w with { QueryHeads = 0 }).ToArray())), narrow) > 1e-2);
        AssertBothFileFormatsKeep(sub, tokens, narrow);
    }

    [Theory]
    [InlineData(new[] { 4, 4, 4, 4, 3 }, "LayerQueryHeads gives layer 4 3 query heads")]
    [InlineData(new[] { 4, 4, 4, 4, 16 }, "LayerQueryHeads gives layer 4 16 query heads")]
    public void Query_heads_that_are_not_a_multiple_of_the_kv_heads_name_the_layer(int[] queries, string message)
    {
        var config = new LlamaConfig(64, 172, 5, 8, 4, 512, 64) { LayerQueryHeads = queries };
        var ex = Assert.Throws<ArgumentException>(config.Validate);
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ElasticWidths(Enumerable.Repeat(new LayerWidth(172, 4, 2), 5).ToArray()).Validate(new LlamaConfig(64, 172, 5, 8, 4, 512, 64)));
    }

    [Theory]
    [InlineData(0, 1, "layer 0: 0 MLP neurons")]
    [InlineData(173, 1, "layer 0: 173 MLP neurons, expected 1 .. 172")]
    [InlineData(10, 5, "layer 0: 5 head groups, expected 1 .. 4")]
    public void Widths_that_do_not_fit_the_model_name_the_layer(int neurons, int groups, string message)
    {
        using var model = SharedModels.LoadStories260K();
        var layers = ElasticWidths.Full(model.Config).Layers.ToArray();
        layers[0] = new LayerWidth(neurons, groups);
        var ex = Assert.Throws<ArgumentException>(() => new ElasticWidths(layers).Validate(model.Config));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uniform_widths_round_and_keep_at_least_one_unit()
    {
        var config = new LlamaConfig(64, 172, 2, 8, 4, 512, 64);
        var quarter = ElasticWidths.Uniform(config, 0.25, 0.25);
        Assert.All(quarter.Layers, w => Assert.Equal(new LayerWidth(43, 1), w));
        Assert.All(ElasticWidths.Uniform(config, 0.001, 0.001).Layers, w => Assert.Equal(new LayerWidth(1, 1), w));
        Assert.Equal(2 * (3L * 64 * 172 + 2 * 64 * 64 + 2 * 64 * 32), ElasticWidths.Full(config).LinearParameters(config));
    }

    private static bool IsDescending(double[] v, double tolerance)
    {
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[i - 1] * (1 + tolerance) + tolerance) return false;
        return true;
    }

    private sealed class Close(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(a));
        public int GetHashCode(double obj) => 0;
    }
}
