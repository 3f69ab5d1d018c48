using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

public sealed class VisionTransformerTests
{
    private static readonly VitConfig Micro = new(ImageSize: 32, PatchSize: 8, EmbedDim: 32, Depth: 2, NumHeads: 2,
        NumClasses: 10);

    [Fact]
    public void VitTiny_has_timms_parameter_count()
    {
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(VitConfig.Tiny);
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(5_717_416, count);
    }

    [Fact]
    public void VitSmall_has_timms_parameter_count()
    {
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(VitConfig.Small);
        Assert.Equal(22_050_664, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void VitTiny_maps_images_to_logits_and_tokens()
    {
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(VitConfig.Tiny);
        model.eval();
        using var noGrad = no_grad();
        var images = randn(1, 3, 224, 224);
        var features = model.ForwardFeatures(images);
        Assert.Equal(new long[] { 1, 197, 192 }, features.shape);
        Assert.Equal(new long[] { 1, 1000 }, model.ForwardHead(features).shape);
        Assert.Equal(new long[] { 1, 192 }, model.ForwardHead(features, preLogits: true).shape);
    }

    [Fact]
    public void Micro_forward_gives_batch_by_classes()
    {
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(Micro);
        var logits = model.call(randn(3, 3, 32, 32));
        Assert.Equal(new long[] { 3, 10 }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void State_dict_uses_timm_names()
    {
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(VitConfig.Tiny);
        var sd = model.state_dict();
        Assert.Equal(new long[] { 192, 3, 16, 16 }, sd["patch_embed.proj.weight"].shape);
        Assert.Equal(new long[] { 1, 1, 192 }, sd["cls_token"].shape);
        Assert.Equal(new long[] { 1, 197, 192 }, sd["pos_embed"].shape);
        Assert.Equal(new long[] { 576, 192 }, sd["blocks.0.attn.qkv.weight"].shape);
        Assert.Equal(new long[] { 192 }, sd["blocks.0.attn.proj.bias"].shape);
        Assert.Equal(new long[] { 192 }, sd["blocks.3.norm1.weight"].shape);
        Assert.Equal(new long[] { 192 }, sd["blocks.7.norm2.bias"].shape);
        Assert.Equal(new long[] { 768, 192 }, sd["blocks.11.mlp.fc1.weight"].shape);
        Assert.Equal(new long[] { 192 }, sd["blocks.11.mlp.fc2.bias"].shape);
        Assert.Equal(new long[] { 192 }, sd["norm.weight"].shape);
        Assert.Equal(new long[] { 1000, 192 }, sd["head.weight"].shape);
        Assert.Equal(4 + 12 * 12 + 2 + 2, sd.Count);
    }

    [Fact]
    public void One_backward_reaches_every_parameter()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = new VisionTransformer(Micro);
        var logits = model.call(randn(2, 3, 32, 32));
        var loss = nn.functional.cross_entropy(logits, tensor(new long[] { 1, 7 }));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            var grad = p.grad;
            Assert.True(grad is not null, $"{name} has no gradient");
            Assert.True(grad!.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient {grad.abs().sum().item<float>()}");
        }
    }

    [Fact]
    public void Same_seed_gives_same_weights_and_outputs()
    {
        using var scope = NewDisposeScope();
        manual_seed(42);
        using var a = new VisionTransformer(Micro);
        var x = randn(2, 3, 32, 32);
        manual_seed(42);
        using var b = new VisionTransformer(Micro);
        var sdA = a.state_dict();
        foreach (var (name, t) in b.state_dict())
            Assert.True(t.allclose(sdA[name], rtol: 0, atol: 0), $"{name} differs");
        Assert.True(a.call(x).allclose(b.call(x), rtol: 0, atol: 0));
    }

    [Fact]
    public void Init_uses_timms_scales()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var model = new VisionTransformer(VitConfig.Tiny);
        var sd = model.state_dict();
        var qkv = sd["blocks.0.attn.qkv.weight"];
        Assert.InRange(qkv.std().item<float>(), 0.0195f, 0.0205f);
        Assert.True(qkv.abs().max().item<float>() <= 2f);
        Assert.Equal(0f, sd["blocks.0.attn.qkv.bias"].abs().max().item<float>());
        Assert.InRange(sd["pos_embed"].std().item<float>(), 0.018f, 0.022f);
        Assert.InRange(sd["cls_token"].std().item<float>(), 0.5e-6f, 2e-6f);
    }

    [Fact]
    public void TruncNormal_respects_the_bounds_and_the_scale()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var t = VisionTransformer.TruncNormal_(empty(200_000), mean: 0.5, std: 1.0, a: -0.5, b: 1.5);
        Assert.True(t.min().item<float>() >= -0.5f && t.max().item<float>() <= 1.5f);
        // N(0.5, 1) truncated to mean +- 1 has std sqrt(1 - 2 phi(1) / (2 Phi(1) - 1)) = 0.5396.
        Assert.InRange(t.std().item<float>(), 0.535f, 0.545f);
        Assert.InRange(t.mean().item<float>(), 0.49f, 0.51f);
    }

    [Fact]
    public void Config_rejects_sizes_that_do_not_fit()
    {
        Assert.Throws<ArgumentException>(() => new VitConfig(ImageSize: 30, PatchSize: 16).Validate());
        Assert.Throws<ArgumentException>(() => new VitConfig(EmbedDim: 100, NumHeads: 3).Validate());
    }
}
