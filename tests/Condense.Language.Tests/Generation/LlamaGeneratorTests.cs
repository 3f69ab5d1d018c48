using Condense.Language.Checkpoints;
using Condense.Language.Generation;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Generation;

public sealed class LlamaGeneratorTests
{
    // Expected outputs of karpathy/llama2.c's run.c (bd182289; forward, bpe_encode and the greedy loop
    // transcribed outside this repository, built with `gcc -O2 run.c -lm`), e.g. for the first one:
    // `./run stories260K.bin tok512.bin 100 "Once upon a time"`, token ids printed as they were chosen.
    private static readonly int[] Stories260KOnceUponATime =
    [
        1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410,
        408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388,
        426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310, 439,
        419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267, 265, 282, 295, 433, 426, 436, 317,
        286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263,
    ];

    private const string Stories260KText =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she " +
        "saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to " +
        "the park.\" Lily was sad and didn't know w";

    private static readonly int[] Llama2xsTheDog =
    [
        1, 291, 400, 428, 432, 261, 376, 298, 315, 421, 395, 317, 426, 338, 286, 399, 393, 426, 342, 382, 276, 261,
        306, 261, 421, 424, 283, 419, 410, 276, 423, 411, 423, 430, 285, 266, 269, 336, 432, 313, 442, 413, 439, 419,
        334, 433, 283, 432, 317, 426, 410, 452, 277, 261, 276, 261, 298, 347, 418, 374, 419,
    ];

    [Fact]
    public void Greedy_stories260K_reproduces_llama2c_token_for_token()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var tok = SharedModels.Tok512;
        var prompt = tok.Encode("Once upon a time", bos: true);
        var result = LlamaGenerator.Generate(model, prompt, 100, new SamplingOptions(Temperature: 0));
        Assert.Equal(Stories260KOnceUponATime, result.Tokens);
        Assert.Equal(Stories260KText, tok.Decode(result.Tokens));
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the " +
            "park. One day, she saw a big, red ball.", tok.Decode(result.Tokens), StringComparison.Ordinal);
    }

    [Fact]
    public void Greedy_llama2xs_reproduces_llama2c_token_for_token()
    {
        using var scope = NewDisposeScope();
        using var model = Llama2cCheckpoint.Read(SharedModels.Llama2xsPath);
        var prompt = SharedModels.Tok512.Encode("The dog", bos: true);
        var result = LlamaGenerator.Generate(model, prompt, 60, new SamplingOptions(Temperature: 0));
        Assert.Equal(Llama2xsTheDog, result.Tokens);
    }

    [Fact]
    public void Cached_logits_equal_full_recomputation()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        using var noGrad = no_grad();
        var tokens = tensor(Stories260KOnceUponATime.Take(40).Select(t => (long)t).ToArray()).view(1, -1);
        var full = model.call(tokens);                                          // (1, 40, V)
        using var cache = model.NewCache(1);
        // A 7-token prefill, a 5-token chunk after it (masked attention with an offset), then single tokens.
        var parts = new List<Tensor> { model.Forward(tokens.narrow(1, 0, 7), cache), model.Forward(tokens.narrow(1, 7, 5), cache) };
        for (int t = 12; t < 40; t++) parts.Add(model.Forward(tokens.narrow(1, t, 1), cache));
        var cached = cat(parts, dim: 1);
        Assert.Equal(40, cache.Length);
        Assert.True(cached.allclose(full, rtol: 0, atol: 1e-4), $"max diff {(cached - full).abs().max().item<float>()}");
    }

    [Fact]
    public void Sampling_is_reproducible_per_seed_and_top_p_keeps_the_nucleus()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var prompt = SharedModels.Tok512.Encode("Once upon a time", bos: true);
        var hot = new SamplingOptions(Temperature: 1.0, TopP: 0.9, Seed: 7);
        var a = LlamaGenerator.Generate(model, prompt, 60, hot).Tokens;
        var b = LlamaGenerator.Generate(model, prompt, 60, hot).Tokens;
        var c = LlamaGenerator.Generate(model, prompt, 60, hot with { Seed = 8 }).Tokens;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        // Probabilities 0.027, 0.553, 0.335, 0.010, 0.075: the nucleus of p = 0.7 is tokens 1 and 2.
        var logits = new float[] { 0f, 3f, 2.5f, -1f, 1f };
        var sampler = new Sampler(new SamplingOptions(Temperature: 1.0, TopP: 0.7, Seed: 3));
        var seen = Enumerable.Range(0, 400).Select(_ => sampler.Next(logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 2 }, seen);
        var full = new Sampler(new SamplingOptions(Temperature: 1.0, TopP: 1.0, Seed: 3));
        Assert.Equal(5, Enumerable.Range(0, 2000).Select(_ => full.Next(logits)).Distinct().Count());
        Assert.Equal(1, new Sampler(new SamplingOptions(Temperature: 0)).Next(logits));
    }

    [Fact]
    public void Steps_are_bounded_by_the_sequence_length()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LlamaGenerator.Generate(model, [1], 513, new SamplingOptions()));
        // run.c forwards at most `steps` positions: a longer prompt is cut to steps + 1 tokens, nothing sampled.
        var cut = LlamaGenerator.Generate(model, [1, 403, 407, 261, 378, 432], 3, new SamplingOptions());
        Assert.Equal([1, 403, 407, 261], cut.Tokens);
        Assert.Equal(0, cut.GeneratedTokens);
    }
}
