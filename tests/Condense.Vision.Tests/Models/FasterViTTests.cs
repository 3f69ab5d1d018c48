using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

public sealed class FasterViTTests
{
    [Fact]
    public void Analytic_parameter_counts_match_the_reference_table()
    {
        // README: 31.4M, 53.4M, 75.9M, 159.5M, (424.6M), (975.5M), 1360M; -4 and -5 follow the reference code (see FasterViTConfig)
        Assert.Equal(31.4, Math.Round(FasterViTConfig.V0.ParameterCount() / 1e6, 1));
        Assert.Equal(53.4, Math.Round(FasterViTConfig.V1.ParameterCount() / 1e6, 1));
        Assert.Equal(75.9, Math.Round(FasterViTConfig.V2.ParameterCount() / 1e6, 1));
        Assert.Equal(159.5, Math.Round(FasterViTConfig.V3.ParameterCount() / 1e6, 1));
        Assert.Equal(365.6, Math.Round(FasterViTConfig.V4.ParameterCount() / 1e6, 1));
        Assert.Equal(957.5, Math.Round(FasterViTConfig.V5.ParameterCount() / 1e6, 1));
        Assert.Equal(1360, Math.Round(FasterViTConfig.V6.ParameterCount() / 1e6, 0));
    }

    [Fact]
    public void FasterViT0_built_has_31_4M_parameters_and_reference_state_dict_names()
    {
        using var scope = NewDisposeScope();
        using var model = new FasterViT(FasterViTConfig.V0);
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(FasterViTConfig.V0.ParameterCount(), count);
        Assert.Equal(31_404_840, count);
        var sd = model.state_dict();
        Assert.Equal(new long[] { 64, 3, 3, 3 }, sd["patch_embed.conv_down.0.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 3, 3 }, sd["levels.0.blocks.0.conv1.weight"].shape);
        Assert.Equal(new long[] { 128, 64, 3, 3 }, sd["levels.0.downsample.reduction.0.weight"].shape);
        Assert.Equal(new long[] { 64 }, sd["levels.0.downsample.norm.weight"].shape);
        Assert.Equal(new long[] { 768, 256 }, sd["levels.2.blocks.0.attn.qkv.weight"].shape);
        Assert.Equal(new long[] { 8, 512 }, sd["levels.2.blocks.0.attn.pos_emb_funct.cpb_mlp.2.weight"].shape);
        Assert.Equal(new long[] { 1, 8, 53, 53 }, sd["levels.2.blocks.0.attn.pos_emb_funct.relative_bias"].shape);
        Assert.Equal(new long[] { 1, 8, 16, 16 }, sd["levels.2.blocks.0.hat_attn.pos_emb_funct.relative_bias"].shape);
        Assert.Equal(new long[] { 1, 13, 13, 2 }, sd["levels.2.blocks.0.attn.pos_emb_funct.relative_coords_table"].shape);
        Assert.Equal(new long[] { 49, 49 }, sd["levels.2.blocks.0.attn.pos_emb_funct.relative_position_index"].shape);
        Assert.Equal(new long[] { 256, 512 }, sd["levels.2.blocks.0.hat_pos_embed.cpb_mlp.2.weight"].shape);
        Assert.Equal(new long[] { 1, 49, 256 }, sd["levels.2.blocks.0.pos_embed.relative_bias"].shape);
        Assert.Equal(new long[] { 256, 1, 3, 3 }, sd["levels.2.global_tokenizer.pos_embed.weight"].shape);
        Assert.Contains("levels.2.blocks.0.hat_norm1.weight", sd.Keys);
        Assert.Contains("levels.2.blocks.0.hat_mlp.fc1.weight", sd.Keys);
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("levels.3.blocks.0.hat_", StringComparison.Ordinal));
        Assert.DoesNotContain(sd.Keys, k => k.Contains("gamma", StringComparison.Ordinal));
        Assert.Equal(new long[] { 1000, 512 }, sd["head.weight"].shape);
        Assert.Equal(new long[] { 512 }, sd["norm.running_var"].shape);
    }

    [Fact]
    public void Layer_scale_and_propagation_variants_count_as_the_formula()
    {
        using var scope = NewDisposeScope();
        var config = FasterViTConfig.Micro with { LayerScale = 1e-5, NumClasses = 7 };
        using var model = new FasterViT(config);
        Assert.Equal(config.ParameterCount(), model.parameters().Sum(p => p.numel()));
        var sd = model.state_dict();
        Assert.Contains("levels.2.blocks.1.gamma1", sd.Keys);
        Assert.Contains("levels.2.blocks.1.gamma4", sd.Keys);
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(96, 64)]     // stage 3 is 6 x 4: rectangular carrier grid
    [InlineData(80, 48)]     // stage 3 is 5 x 3: padded to 6 x 4
    [InlineData(36, 44)]     // not even multiples of 32
    public void Micro_gives_stride_32_features_at_any_resolution(int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = new FasterViT(FasterViTConfig.Micro);
        model.eval();
        using var noGrad = no_grad();
        var output = model.ForwardBackbone(randn(2, 3, h, w));
        long fh = (h + 31) / 32, fw = (w + 31) / 32;
        Assert.Equal(new long[] { 2, 128, fh, fw }, output.Features.shape);
        Assert.Equal(new long[] { 2, 128 }, output.Summary.shape);
        Assert.Equal(4, output.Intermediates.Count);
        Assert.Equal(new long[] { 2, 16, (h + 3) / 4, (w + 3) / 4 }, output.Intermediates[0].shape);
        Assert.True(output.Features.isfinite().all().item<bool>());
    }

    [Fact]
    public void FasterViT0_classifies_224_and_non_multiple_resolutions()
    {
        using var scope = NewDisposeScope();
        using var model = new FasterViT(FasterViTConfig.V0);
        model.eval();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 1, 1000 }, model.call(randn(1, 3, 224, 224)).shape);
        var odd = model.ForwardBackbone(randn(1, 3, 200, 264));   // stage 3: 13 x 17, padded to 14 x 21
        Assert.Equal(new long[] { 1, 512, 7, 9 }, odd.Features.shape);
        Assert.True(odd.Features.isfinite().all().item<bool>());
    }

    [Fact]
    public void Gradients_reach_every_parameter()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new FasterViT(FasterViTConfig.Micro with { LayerScale = 0.5, NumClasses = 5 });
        model.train();
        var output = model.ForwardBackbone(randn(2, 3, 64, 64));
        (output.Features.square().mean() + output.Summary.sum() + model.call(randn(2, 3, 64, 64)).sum()).backward();
        BackboneAssert.EveryParameterGetsGradient(model);
    }

    [Fact]
    public void Forward_is_deterministic_for_a_fixed_seed()
    {
        using var scope = NewDisposeScope();
        Tensor Run()
        {
            manual_seed(11);
            using var model = new FasterViT(FasterViTConfig.Micro);
            model.eval();
            using var noGrad = no_grad();
            return model.ForwardBackbone(ones(1, 3, 64, 64) * 0.3).Features.clone();
        }
        var a = Run();
        var b = Run();
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Fact]
    public void Carrier_token_pool_matches_the_reference_at_224()
    {
        // stage 3 of FasterViT-0 at 224: 14 x 14 map, window 7, ct 2 -> 4 x 4 carriers, stride 3, kernel 5
        Assert.Equal((5L, 3L, 4L), FasterViTTokenInitializer.Pool(14, 7, 2));
    }
}
