using Condense.Core.Runtime;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Core.Tests.Runtime;

/// <summary>The kernel settings TorchRuntime applies on load (NativeKernels): oneDNN convolutions and NNPACK off.</summary>
public sealed class NativeKernelsTests
{
    [Fact]
    public void Loading_turns_oneDNN_convolutions_and_NNPACK_off()
    {
        var report = NativeKernels.Report();
        Assert.Equal("native im2col + GEMM", report.ConvolutionPath);
        Assert.False(report.NnpackEnabled);
        Assert.False(NativeKernels.OneDnnConvolutions);
    }

    [Fact]
    public void Junk_fill_makes_fresh_allocations_NaN_and_is_undone()
    {
        using var scope = NewDisposeScope();
        using (new JunkFill())
            Assert.True(empty(1000).isnan().all().item<bool>());
        Assert.False(NativeKernels.JunkFilledAllocations);
    }
}
