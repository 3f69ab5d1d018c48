// c10's junk fill for the length of a test: every fresh CPU allocation holds NaN bit patterns, so a kernel that
// reads memory before writing it fails the test every time instead of on some runs and CPUs.
using Condense.Core.Runtime;

namespace Condense.Testing;

/// <summary>Turns junk-filled allocations on until disposed.</summary>
public sealed class JunkFill : IDisposable
{
    public JunkFill() => NativeKernels.JunkFilledAllocations = true;

    public void Dispose() => NativeKernels.JunkFilledAllocations = false;
}
