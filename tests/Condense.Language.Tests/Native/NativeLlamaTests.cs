using Condense.Language.Checkpoints;
using Condense.Language.Generation;
using Condense.Language.Models;
using Condense.Language.Native;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Native;

public sealed class NativeLlamaTests
{
    // Every width this CPU can run; a forced width it lacks resolves to a narrower one, so each test covers what exists.
    public static TheoryData<VectorPath> Paths => [VectorPath.Scalar, VectorPath.Vector256, VectorPath.Vector512];

    private static int[] StoryTokens(int count) =>
        SharedModels.Tok512.Encode(File.ReadLines(SharedModels.ValidTextPath).First(l => l.Length > 400), bos: true)[..count];

    // The native engine's logits at every position of tokens, forwarded one at a time and scored in blocks (NativeLlama.Score),
    // against one causal forward of the TorchSharp model; the worse of the two.
    private static double MaxLogitDifference(LlamaForCausalLM model, VectorPath path, int[] tokens)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var reference = model.forward(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0))[0];   // (T, V)
        var expected = reference.data<float>().ToArray();
        var engine = NativeLlama.FromModel(model, path);
        double worst = 0;
        for (int t = 0; t < tokens.Length; t++)
        {
            var logits = engine.Forward(tokens[t]);
            for (int i = 0; i < logits.Length; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[t * logits.Length + i]));
        }
        engine.Reset();
        int scored = 0;
        engine.Score(tokens, (t, logits) =>
        {
            Assert.Equal(scored++, t);
            for (int i = 0; i < logits.Length; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[t * logits.Length + i]));
        });
        Assert.Equal(tokens.Length, scored);
        Assert.Equal(tokens.Length, engine.Position);
        return worst;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Logits_equal_torch_on_llama2c_and_hugging_face_layouts(VectorPath path)
    {
        var tokens = StoryTokens(96);
        using (var model = SharedModels.LoadStories260K())
            Assert.InRange(MaxLogitDifference(model, path, tokens), 0, 1e-4);
        using (var model = Llama2cCheckpoint.Read(SharedModels.Llama2xsPath))
            Assert.InRange(MaxLogitDifference(model, path, tokens), 0, 1e-4);
        using (var model = HfLlamaCheckpoint.Read(SharedModels.HfStories260KDir))
        {
            Assert.Equal(RopeLayout.RotateHalf, model.Config.RopeLayout);
            Assert.InRange(MaxLogitDifference(model, path, tokens), 0, 1e-4);
        }
    }

    [Fact]
    public void Rewinding_decodes_again_against_the_same_context()
    {
        using var model = SharedModels.LoadStories260K();
        var tokens = StoryTokens(40);
        var engine = NativeLlama.FromModel(model);
        foreach (var t in tokens[..32]) engine.Forward(t);
        var first = engine.Forward(tokens[32]).ToArray();
        foreach (var t in tokens[33..]) engine.Forward(t);
        engine.Rewind(32);
        Assert.Equal(32, engine.Position);
        Assert.Equal(first, engine.Forward(tokens[32]).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Rewind(34));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Pruned_and_narrow_layers_run_as_in_torch(VectorPath path)
    {
        using var full = SharedModels.LoadStories260K();
        var tokens = StoryTokens(64);
        using (var pruned = Derived(full, full.Config with { RemovedAttention = [1, 3], RemovedMlp = [1, 4] }))
            Assert.InRange(MaxLogitDifference(pruned, path, tokens), 0, 1e-4);
        using (var narrow = Derived(full, full.Config with { LayerHiddenDims = [172, 86, 43, 129, 172], LayerKvHeads = [4, 2, 4, 1, 4] }))
            Assert.InRange(MaxLogitDifference(narrow, path, tokens), 0, 1e-4);
        // one query head per KV head in three layers (8 → 4, 2 and 1 query heads)
        using (var fewerQueries = Derived(full, full.Config with { LayerKvHeads = [4, 2, 4, 1, 4], LayerQueryHeads = [4, 2, 8, 1, 8] }))
            Assert.InRange(MaxLogitDifference(fewerQueries, path, tokens), 0, 1e-4);
    }

    [Fact]
    public void Greedy_generation_equals_the_torch_generator()
    {
        foreach (var (path, prompt) in new[] { (SharedModels.Stories260KPath, "Once upon a time"), (SharedModels.Llama2xsPath, "The dog") })
        {
            using var model = Llama2cCheckpoint.Read(path);
            var ids = SharedModels.Tok512.Encode(prompt, bos: true);
            var expected = LlamaGenerator.Generate(model, ids, 256, new SamplingOptions(Temperature: 0)).Tokens;
            var actual = NativeGenerator.Generate(NativeLlama.FromModel(model), ids, 256, new SamplingOptions(Temperature: 0)).Tokens;
            Assert.True(expected.Count > 100, $"only {expected.Count} tokens to compare");
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void The_engine_refuses_a_full_sequence_and_unknown_tokens()
    {
        using var model = SharedModels.LoadStories260K();
        var engine = NativeLlama.FromModel(model);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Forward(512));
        for (int i = 0; i < model.Config.MaxSeqLen; i++) engine.Forward(1);
        Assert.Throws<InvalidOperationException>(() => engine.Forward(1));
        engine.Reset();
        Assert.Equal(0, engine.Position);
        engine.Forward(1);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Kernels_match_a_double_precision_reference(VectorPath path)
    {
        var resolved = NativeKernels.Resolve(path);
        var rng = new Random(7);
        foreach (int n in new[] { 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 172, 1000 })
        {
            var a = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            double exact = a.Zip(b, (x, y) => (double)x * y).Sum();
            Assert.InRange(NativeKernels.Dot(a, b, resolved), exact - 1e-4, exact + 1e-4);
            var y = b.ToArray();
            NativeKernels.AddScaled(y, a, 0.5f, resolved);
            for (int i = 0; i < n; i++) Assert.Equal(b[i] + 0.5f * a[i], y[i], 1e-6f);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Matrix_vector_products_match_a_double_reference_and_any_row_grouping(VectorPath path)
    {
        var resolved = NativeKernels.Resolve(path);
        var rng = new Random(13);
        // Short rows, rows of NativeKernels.LongRow and more (read four side by side on AVX2), and row counts off the 4-row groups.
        foreach (var (rows, n) in new[] { (7, 288), (9, NativeKernels.LongRow), (6, 1040), (5, 2048) })
        {
            var w = Enumerable.Range(0, rows * n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var y = new float[rows];
            NativeKernels.MatVec(w, x, y, resolved);
            for (int o = 0; o < rows; o++)
            {
                double exact = 0;
                for (int i = 0; i < n; i++) exact += (double)w[o * n + i] * x[i];
                Assert.InRange(y[o], exact - 1e-3, exact + 1e-3);
                var alone = new float[1];
                NativeKernels.MatVec(w.AsSpan(o * n, n), x, alone, resolved);
                Assert.Equal(y[o], alone[0]);
            }
        }
    }

    [Fact]
    public void Threads_split_large_products_without_changing_a_bit()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        // Big enough that the classifier and MLP products (1024 x 256) are split across threads.
        using var model = new LlamaForCausalLM(new LlamaConfig(Dim: 256, HiddenDim: 1024, NLayers: 2, NHeads: 4, NKvHeads: 2, VocabSize: 1024, MaxSeqLen: 64));
        model.eval();
        var tokens = Enumerable.Range(0, 40).Select(i => (i * 37 + 1) % 1024).ToArray();
        var one = NativeLlama.FromModel(model);
        var two = NativeLlama.FromModel(model, threads: 2);
        foreach (var t in tokens)
            Assert.Equal(one.Forward(t).ToArray(), two.Forward(t).ToArray());
        one.Reset();
        two.Reset();
        Assert.Equal(one.Forward(tokens).ToArray(), two.Forward(tokens).ToArray());
        Assert.InRange(MaxLogitDifference(model, VectorPath.Auto, tokens), 0, 1e-4);
    }

    [Fact]
    public void A_prompt_forwarded_in_blocks_continues_as_one_forwarded_token_by_token()
    {
        using var model = Llama2cCheckpoint.Read(SharedModels.Llama2xsPath);
        var tokens = StoryTokens(150);   // more than two blocks: the cache carries across block boundaries
        var stepwise = NativeLlama.FromModel(model);
        var blocked = NativeLlama.FromModel(model);
        foreach (var t in tokens[..^1]) stepwise.Forward(t);
        float[] last = blocked.Forward(tokens.AsSpan(0, tokens.Length - 1)).ToArray();
        Assert.Equal(tokens.Length - 1, blocked.Position);
        // The next step reads every cached key and value, so equal logits mean the blocked cache equals the stepwise one.
        var a = stepwise.Forward(tokens[^1]).ToArray();
        var b = blocked.Forward(tokens[^1]).ToArray();
        Assert.InRange(a.Zip(b, (u, v) => Math.Abs(u - v)).Max(), 0, 1e-4);
        Assert.Contains(last, v => v != 0);
        Assert.Throws<ArgumentException>(() => blocked.Forward(ReadOnlySpan<int>.Empty));
        Assert.Throws<InvalidOperationException>(() => blocked.Forward(new int[model.Config.MaxSeqLen]));
    }

    [Fact]
    public void Two_four_weights_run_packed_with_the_same_logits()
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedModels.Llama2xsPath);
        using (no_grad())
            foreach (var (name, w) in model.named_parameters())
                if (name.Contains("proj", StringComparison.Ordinal))
                    w.mul_(Condense.Language.Sparsity.TwoFour.KeepTopTwo(w.abs()));
        var tokens = StoryTokens(64);
        var packed = NativeLlama.FromModel(model);
        var dense = NativeLlama.FromModel(model, packTwoFour: false);
        Assert.Equal(0, dense.PackedWeights);
        if (Packed24Matrix.FastKernelSupported) Assert.Equal(5 * 7, packed.PackedWeights);   // llama2xs: every projection's inputs are multiples of 32
        double worst = 0;
        foreach (var t in tokens)
        {
            var a = packed.Forward(t).ToArray();
            var b = dense.Forward(t).ToArray();
            for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }
        packed.Reset();
        dense.Reset();
        var blockA = packed.Forward(tokens).ToArray();
        var blockB = dense.Forward(tokens).ToArray();
        for (int i = 0; i < blockA.Length; i++) worst = Math.Max(worst, Math.Abs(blockA[i] - blockB[i]));
        // Masking half the weights leaves logits of a larger scale than the trained model's, so the bound is relative.
        double scale;
        using (no_grad())
            scale = Math.Max(1, model.forward(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0)).abs().max().item<float>());
        Assert.InRange(worst / scale, 0, 5e-5);
        Assert.InRange(MaxLogitDifference(model, VectorPath.Auto, tokens) / scale, 0, 5e-5);
    }

    private static LlamaForCausalLM Derived(LlamaForCausalLM full, LlamaConfig config)
    {
        var model = new LlamaForCausalLM(config);
        model.eval();
        using var noGrad = no_grad();
        var source = full.state_dict();
        foreach (var (name, t) in model.state_dict()) t.copy_(LayerWidthPadding.Leading(source[name], t.shape));
        return model;
    }
}
