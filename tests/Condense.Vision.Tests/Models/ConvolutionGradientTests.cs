using Condense.Core.Runtime;
using Condense.Testing;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

/// <summary>
/// libtorch 2.10's oneDNN convolutions gave NaN or wrong results on some channel counts (issue 11; NativeKernels
/// has the list); Condense runs libtorch's own kernels instead. These tests run with junk-filled allocations
/// (every fresh block NaN), so a kernel that reads memory before writing it fails every time, and compare float32
/// against float64 (never oneDNN). With oneDNN convolutions back on they fail on AVX2 and AVX-512 CPUs alike.
/// </summary>
public sealed class ConvolutionGradientTests
{
    [Theory]
    [InlineData(8, 8, 3, 1, 1)]       // E-RADIO micro's C2f bottleneck: NaN input gradients under oneDNN
    [InlineData(4, 4, 3, 1, 1)]
    [InlineData(3, 16, 3, 2, 1)]      // an RGB stem
    [InlineData(24, 24, 3, 1, 1)]     // wrong outputs under oneDNN (input channels > 16, not a multiple of 16)
    [InlineData(40, 8, 1, 1, 1)]
    [InlineData(48, 48, 3, 2, 1)]     // wrong strided input gradients under oneDNN with 2 threads
    [InlineData(48, 64, 2, 2, 1)]
    [InlineData(24, 24, 3, 1, 24)]    // depthwise
    [InlineData(64, 64, 3, 1, 1)]
    public void Conv2d_output_and_gradients_match_float64_with_junk_filled_memory(int inChannels, int outChannels, int kernel,
        int stride, int groups)
    {
        using var scope = NewDisposeScope();
        manual_seed(inChannels * 100 + outChannels);
        int padding = kernel / 2;
        var w = randn(outChannels, inChannels / groups, kernel, kernel) * 0.3;
        var x = randn(2, inChannels, 16, 16);
        int side = (16 + 2 * padding - kernel) / stride + 1;
        var upstream = randn(2, outChannels, side, side);
        Tensor y32, xGrad32, wGrad32;
        using (new JunkFill())
        {
            var w32 = w.clone().requires_grad_();
            var x32 = x.clone().requires_grad_();
            y32 = nn.functional.conv2d(x32, w32, strides: [stride, stride], padding: [padding, padding], groups: groups);
            (y32 * upstream).sum().backward();
            (xGrad32, wGrad32) = (x32.grad!, w32.grad!);
        }
        var w64 = w.to(float64).requires_grad_();
        var x64 = x.to(float64).requires_grad_();
        var y64 = nn.functional.conv2d(x64, w64, strides: [stride, stride], padding: [padding, padding], groups: groups);
        (y64 * upstream.to(float64)).sum().backward();

        AssertClose(y64, y32, "output");
        AssertClose(x64.grad!, xGrad32, "input gradient");
        AssertClose(w64.grad!, wGrad32, "weight gradient");
    }

    [Fact]
    public void ERadio_gradients_are_finite_with_junk_filled_memory()
    {
        // issue 11's failing configuration: E-RADIO micro (C2f with 8-channel halves), batch 2, 128 px, train mode
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new ERadio(ERadioConfig.Micro with { NumClasses = 4, LayerScale = 0.5 });
        Assert.False(NativeKernels.OneDnnConvolutions);
        model.train();
        using var junk = new JunkFill();
        var output = model.ForwardBackbone(randn(2, 3, 128, 128));
        Assert.True(output.Features.isfinite().all().item<bool>(), "forward features are not finite");
        (output.Features.square().mean() + model.call(randn(2, 3, 128, 128)).sum()).backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is { } g && g.isfinite().all().item<bool>(), $"non-finite or missing gradient of {name}");
    }

    private static void AssertClose(Tensor expected64, Tensor actual32, string what)
    {
        Assert.True(actual32.isfinite().all().item<bool>(), $"{what} is not finite");
        double scale = expected64.abs().max().item<double>() + 1e-6;
        double err = (actual32.to(float64) - expected64).abs().max().item<double>();
        Assert.True(err <= 1e-4 * scale, $"{what}: max error {err:G3} against float64 (scale {scale:G3})");
    }
}
