using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

public sealed class ERadioTests
{
    [Fact]
    public void Large_with_an_ImageNet_head_has_the_papers_391M_parameters()
    {
        // AM-RADIO Table 1: E-RADIO-L 391M; the reference `eradio` config counts 389.6M without and 391.1M with a 1000-class head
        Assert.Equal(391.1, Math.Round((ERadioConfig.Large with { NumClasses = 1000 }).ParameterCount() / 1e6, 1));
        Assert.Equal(389_601_856, ERadioConfig.Large.ParameterCount());
    }

    [Fact]
    public void Built_models_count_as_the_formula_and_use_reference_names()
    {
        using var scope = NewDisposeScope();
        using var model = new ERadio(ERadioConfig.XxxTiny);
        Assert.Equal(ERadioConfig.XxxTiny.ParameterCount(), model.parameters().Sum(p => p.numel()));
        var sd = model.state_dict();
        Assert.Equal(new long[] { 32, 3, 3, 3 }, sd["patch_embed.conv_down.0.conv.weight"].shape);
        Assert.Equal(new long[] { 32, 32, 1, 1 }, sd["levels.0.blocks.cv1.conv.weight"].shape);
        Assert.Equal(new long[] { 16, 16, 3, 3 }, sd["levels.0.blocks.m.0.cv1.conv.weight"].shape);
        Assert.Equal(new long[] { 64, 32, 3, 3 }, sd["levels.0.downsample.reduction.conv.weight"].shape);
        Assert.Equal(new long[] { 128, 128, 2, 2 }, sd["levels.2.blocks.0.attention_blocks.0.downsample_op.weight"].shape);
        Assert.Equal(new long[] { 128, 128, 2, 2 }, sd["levels.2.blocks.0.attention_blocks.0.upsample_op.weight"].shape);
        Assert.Equal(new long[] { 128, 128, 3, 3 }, sd["levels.2.blocks.0.attention_blocks.1.pre_conv.conv.weight"].shape);
        Assert.Equal(new long[] { 384, 128 }, sd["levels.2.blocks.0.attention_blocks.1.attn.qkv.weight"].shape);
        Assert.DoesNotContain("levels.2.blocks.0.attention_blocks.1.attn.qkv.bias", sd.Keys);
        Assert.Equal(new long[] { 8, 512 }, sd["levels.2.blocks.0.attention_blocks.1.attn.pos_emb_funct.cpb_mlp.2.weight"].shape);
        Assert.Equal(new long[] { 1, 8, 256, 256 }, sd["levels.2.blocks.0.attention_blocks.1.attn.pos_emb_funct.relative_bias"].shape);
        Assert.Equal(new long[] { 512, 128 }, sd["levels.2.blocks.0.attention_blocks.1.mlp.fc1.weight"].shape);
        Assert.Equal(new long[] { 256, 128, 1, 1 }, sd["high_res_neck.neck_features_proj.0.conv2.weight"].shape);
        Assert.Equal(new long[] { 256, 1, 3, 3 }, sd["high_res_neck.neck_features_proj.1.conv1.weight"].shape);
        Assert.Equal(new long[] { 256 }, sd["norm.running_mean"].shape);
    }

    [Theory]
    [InlineData(224, 7)]
    [InlineData(256, 8)]
    [InlineData(384, 12)]
    [InlineData(512, 16)]
    [InlineData(1024, 16)]
    [InlineData(64, 2)]
    [InlineData(16, 1)]
    public void Window_rule_matches_the_reference(int side, int window) =>
        Assert.Equal(window, ERadioConfig.OptimalWindowSize(side));

    [Theory]
    [InlineData(64, 64)]
    [InlineData(64, 96)]
    [InlineData(96, 160)]
    [InlineData(80, 48)]     // stage maps not multiples of the window: resized and back
    public void Micro_gives_stride_16_neck_features(int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = new ERadio(ERadioConfig.Micro);
        model.eval();
        using var noGrad = no_grad();
        var output = model.ForwardBackbone(randn(2, 3, h, w));
        Assert.Equal(new long[] { 2, 128, h / 16, w / 16 }, output.Features.shape);
        Assert.Equal(new long[] { 2, 128 }, output.Summary.shape);
        Assert.Equal(4, output.Intermediates.Count);
        Assert.Equal(ERadioConfig.OptimalWindowSize(Math.Min(h, w)), model.Window);
        Assert.True(output.Features.isfinite().all().item<bool>());
    }

    [Fact]
    public void XxxTiny_at_224_uses_window_7_and_gives_14x14()
    {
        using var scope = NewDisposeScope();
        using var model = new ERadio(ERadioConfig.XxxTiny);
        model.eval();
        using var noGrad = no_grad();
        var output = model.ForwardBackbone(randn(1, 3, 224, 224));
        Assert.Equal(7, model.Window);
        Assert.Equal(new long[] { 1, 256, 14, 14 }, output.Features.shape);
    }

    [Fact]
    public void Gradients_reach_every_parameter()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new ERadio(ERadioConfig.Micro with { NumClasses = 4, LayerScale = 0.5 });
        model.train();
        var output = model.ForwardBackbone(randn(2, 3, 128, 128));   // window 4: several windows per map
        (output.Features.square().mean() + model.call(randn(2, 3, 128, 128)).sum()).backward();
        BackboneAssert.EveryParameterGetsGradient(model);
    }

    [Fact]
    public void Forward_is_deterministic_for_a_fixed_seed()
    {
        using var scope = NewDisposeScope();
        Tensor Run()
        {
            manual_seed(7);
            using var model = new ERadio(ERadioConfig.Micro);
            model.eval();
            using var noGrad = no_grad();
            return model.ForwardBackbone(ones(1, 3, 64, 64) * 0.2).Features.clone();
        }
        Assert.True(Run().equal(Run()).all().item<bool>());
    }
}
