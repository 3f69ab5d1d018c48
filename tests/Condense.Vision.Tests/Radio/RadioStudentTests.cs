using Condense.Core;
using Condense.Vision.Radio;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class RadioStudentTests
{
    private static readonly RadioStudentConfig Micro = new(PatchSize: 4, EmbedDim: 16, Depth: 2, NumHeads: 2,
        MaxResolution: 32, NumClsTokens: 3, RegisterMultiple: 8);

    [Theory]
    [InlineData(32, 48, true)]
    [InlineData(32, 48, false)]
    [InlineData(16, 16, true)]
    [InlineData(12, 40, false)]
    [InlineData(64, 44, false)]
    [InlineData(64, 44, true)]
    public void Any_multiple_of_the_patch_gives_its_grid(int H, int W, bool training)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var student = new RadioStudent(Micro);
        student.train(training);
        var output = student.call(rand(2, 3, H, W));
        Assert.Equal(H / 4, output.GridH);
        Assert.Equal(W / 4, output.GridW);
        Assert.Equal(new long[] { 2, 3, 16 }, output.Summary.shape);
        Assert.Equal(new long[] { 2, H / 4 * (W / 4), 16 }, output.Patches.shape);
        Assert.Equal(new long[] { 2, 16, H / 4, W / 4 }, output.Features().shape);
        Assert.True(output.Patches.isfinite().all().item<bool>());
    }

    [Fact]
    public void Features_is_the_patch_sequence_in_row_major_order()
    {
        using var scope = NewDisposeScope();
        var patches = arange(2 * 6 * 3, dtype: float32).reshape(2, 6, 3);   // (B, h*w, D)
        var output = new StudentOutput(zeros(2, 1, 3), patches, 2, 3);
        var map = output.Features();                                        // (B, D, h, w)
        Assert.Equal(patches[1, 5, 2].item<float>(), map[1, 2, 1, 2].item<float>());
        Assert.Equal(patches[0, 3, 1].item<float>(), map[0, 1, 1, 0].item<float>());
    }

    [Fact]
    public void Bad_input_size_is_an_InputException()
    {
        using var scope = NewDisposeScope();
        using var student = new RadioStudent(Micro);
        var ex = Assert.Throws<InputException>(() => student.call(rand(1, 3, 32, 30)));
        Assert.Contains("32x30", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InputException>(() => student.call(rand(1, 1, 32, 32)));
    }

    [Theory]
    [InlineData(3, null, 8, 5)]     // cls_token.py: 8 - 3 % 8
    [InlineData(4, null, 4, 4)]     // a full multiple already: the rule still adds one multiple
    [InlineData(1, null, 0, 0)]     // no register multiple: no registers
    [InlineData(2, 3, 8, 3)]        // explicit count wins
    public void Summary_tokens_and_registers_are_prepended(int numCls, int? numRegisters, int multiple,
        int expectedRegisters)
    {
        using var scope = NewDisposeScope();
        var config = Micro with { NumClsTokens = numCls, NumRegisters = numRegisters, RegisterMultiple = multiple };
        Assert.Equal(expectedRegisters, config.ResolvedNumRegisters);
        using var student = new RadioStudent(config);
        Assert.Equal(new long[] { numCls + expectedRegisters, 16 },
            student.state_dict()["patch_generator.cls_token.token"].shape);
        student.eval();
        var tokens = student.ForwardTokens(rand(2, 3, 16, 24));
        Assert.Equal(new long[] { 2, numCls + expectedRegisters + 24, 16 }, tokens.shape);
        var output = student.call(rand(2, 3, 16, 24));
        Assert.Equal(new long[] { 2, numCls, 16 }, output.Summary.shape);
        Assert.Equal(new long[] { 2, 24, 16 }, output.Patches.shape);
    }

    [Fact]
    public void Summary_and_patches_are_the_right_slices_of_the_token_sequence()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var student = new RadioStudent(Micro);
        student.eval();
        var images = rand(2, 3, 16, 20);
        var tokens = student.ForwardTokens(images);                          // (2, 8 + 20, 16)
        var output = student.call(images);
        Assert.True(Identical.Check(output.Summary, tokens.narrow(1, 0, 3)));
        Assert.True(Identical.Check(output.Patches, tokens.narrow(1, 8, 20)));
    }

    [Fact]
    public void No_summary_tokens_and_no_registers_means_no_token_parameter()
    {
        using var scope = NewDisposeScope();
        using var student = new RadioStudent(Micro with { NumClsTokens = 0, RegisterMultiple = 0 });
        Assert.DoesNotContain("patch_generator.cls_token.token", student.state_dict().Keys);
        student.eval();
        var output = student.call(rand(1, 3, 8, 8));
        Assert.Equal(new long[] { 1, 0, 16 }, output.Summary.shape);
        Assert.Equal(new long[] { 1, 4, 16 }, output.Patches.shape);
    }

    [Fact]
    public void Input_is_conditioned_with_openai_clip_statistics()
    {
        using var scope = NewDisposeScope();
        using var conditioner = new InputConditioner();
        var images = rand(2, 3, 4, 4);
        var y = conditioner.call(images);
        double expected = (images[1, 2, 3, 0].item<float>() - 0.40821073) / 0.27577711;
        Assert.Equal(expected, y[1, 2, 3, 0].item<float>(), 1e-5);
    }

    [Fact]
    public void State_dict_uses_the_reference_names()
    {
        using var scope = NewDisposeScope();
        using var student = new RadioStudent(Micro);
        var sd = student.state_dict();
        Assert.Equal(new long[] { 3, 1, 1 }, sd["input_conditioner.norm_mean"].shape);
        Assert.Equal(new long[] { 3, 1, 1 }, sd["input_conditioner.norm_std"].shape);
        Assert.Equal(new long[] { 16, 48 }, sd["patch_generator.embedder.weight"].shape);
        Assert.Equal(new long[] { 1, 64, 16 }, sd["patch_generator.pos_embed"].shape);
        Assert.Equal(new long[] { 8, 16 }, sd["patch_generator.cls_token.token"].shape);
        Assert.Equal(new long[] { 48, 16 }, sd["blocks.0.attn.qkv.weight"].shape);
        Assert.Equal(new long[] { 64, 16 }, sd["blocks.1.mlp.fc1.weight"].shape);
        Assert.DoesNotContain("patch_generator.embedder.bias", sd.Keys);
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("norm", StringComparison.Ordinal));
        // 2 buffers, embedder, pos_embed, token, 12 tensors per block.
        Assert.Equal(2 + 3 + 2 * 12, sd.Count);
    }
}
