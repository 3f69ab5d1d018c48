using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

/// <summary>GemmConv2d computes libtorch's conv2d (outputs and gradients) on the shapes it takes over, and falls back elsewhere.</summary>
public sealed class GemmConv2dTests
{
    [Theory]
    [InlineData(2, 16, 24, 40, 40, 3, 1, 1, 1)]     // dense 3x3, batch 2
    [InlineData(1, 16, 8, 33, 47, 3, 1, 1, 1)]      // odd, rectangular
    [InlineData(2, 3, 16, 64, 64, 3, 2, 1, 1)]      // stride 2, 3 input channels (a stem): libtorch's path
    [InlineData(1, 16, 20, 65, 63, 3, 2, 1, 1)]     // stride 2, odd sides
    [InlineData(2, 16, 8, 40, 36, 2, 2, 0, 1)]      // 2x2 stride 2 (E-RADIO's downsample_op shape)
    [InlineData(2, 24, 24, 36, 36, 3, 1, 1, 24)]    // depthwise
    [InlineData(1, 16, 10, 34, 34, 5, 1, 2, 1)]     // 5x5
    [InlineData(2, 16, 8, 8, 8, 3, 1, 1, 1)]        // small map: libtorch's path
    [InlineData(1, 256, 8, 40, 40, 3, 1, 1, 1)]     // many input channels: libtorch's path
    public void Matches_conv2d_outputs_and_gradients(int batch, int cin, int cout, int h, int w, int k, int stride, int padding, int groups)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var conv = new GemmConv2d(cin, cout, k, stride, padding, groups);
        var x = randn(batch, cin, h, w).requires_grad_();
        var x2 = x.detach().clone().requires_grad_();
        var y = conv.call(x);
        var expected = nn.functional.conv2d(x2, conv.Weight, conv.Bias, strides: [stride, stride], padding: [padding, padding], groups: groups);
        Assert.Equal(expected.shape, y.shape);
        Assert.True(y.is_contiguous());
        double scale = expected.abs().max().item<float>();
        Assert.True((y - expected).abs().max().item<float>() <= 1e-5 * scale, "outputs");

        var upstream = randn_like(expected);
        (y * upstream).sum().backward();
        var got = new[] { x.grad!.clone(), conv.Weight.grad!.clone() };
        conv.Weight.grad!.zero_();
        (expected * upstream).sum().backward();
        var want = new[] { x2.grad!, conv.Weight.grad! };
        for (int i = 0; i < 2; i++)
            Assert.True((got[i] - want[i]).abs().max().item<float>() <= 1e-5 * want[i].abs().max().item<float>(), i == 0 ? "input gradients" : "weight gradients");
    }

    [Fact]
    public void Keeps_nn_Conv2d_names_and_initialization()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var reference = nn.Conv2d(8, 16, 3, padding: 1);
        manual_seed(11);
        var conv = new GemmConv2d(8, 16, 3, padding: 1);
        Assert.Equal(new[] { "weight", "bias" }, conv.state_dict().Keys);
        Assert.True(reference.weight!.eq(conv.Weight).all().item<bool>());
        Assert.True(reference.bias!.eq(conv.Bias!).all().item<bool>());
    }
}
