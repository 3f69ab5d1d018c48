// Process-wide settings of libtorch's CPU convolution kernels, applied once when TorchSharp loads
// (TorchRuntime.EnsureLoaded), and what doctor reports about them.
//
// oneDNN convolutions off. libtorch 2.10 sends float32 convolutions to oneDNN 3.7.1 by default. Checked against
// float64 (libtorch's own kernels) with c10's junk fill on (every fresh allocation NaN, so a kernel that reads
// memory before writing it shows it every time; `condense bench conv-paths` reruns the check), oneDNN's AVX-512
// kernels gave on a 2-vCPU AMD EPYC:
//   - NaN input gradients when a convolution's output channels are not a multiple of 16 (1, 3, 8, 12, 24, 40):
//     the padding of a channel-blocked buffer is read uninitialised. This is what made E-RADIO's gradients NaN on
//     some runs (issue 11): without junk fill it depends on what the allocator hands back, so on the run, the thread
//     count and the CPU;
//   - wrong outputs (max error ~0.4 of the output scale) when input channels are above 16 and not a multiple of 16;
//   - wrong input gradients of strided convolutions with 48 input channels, with 2 threads only.
// Capping oneDNN at AVX2 (ONEDNN_MAX_CPU_ISA) still failed 13 of 336 shapes. libtorch's own path (im2col + GEMM,
// and its depthwise kernels) was exact on all of them, at 1, 2 threads. So Condense turns oneDNN convolutions off:
// every CPU then runs the same kernel family, at a cost in speed (conv-heavy backbones 1.3-2.3x slower here;
// the bench measures it) that is the price of results that do not depend on the CPU.
//
// NNPACK off. libtorch tries NNPACK for some convolution shapes; on CPUs its cpuinfo does not recognise it prints
// "Could not initialize NNPACK! Reason: Unsupported hardware." once per such call, and where it does initialise
// those shapes run another kernel. Off, nothing is printed and the path does not depend on the CPU.
using System.Runtime.InteropServices;

namespace Condense.Core.Runtime;

/// <summary>The convolution path in force, as doctor reports it.</summary>
/// <param name="ConvolutionPath">"native im2col + GEMM" (Condense's setting) or "oneDNN".</param>
/// <param name="OneDnnAvailable">Whether this libtorch was built with oneDNN.</param>
/// <param name="OneDnnVersion">oneDNN as libtorch reports it (null where it cannot be read).</param>
/// <param name="AtenCpuCapability">ATen's vectorised-kernel level (DEFAULT, AVX2, AVX512; null where unknown).</param>
/// <param name="NnpackEnabled">Whether libtorch may try NNPACK (Condense turns it off).</param>
public sealed record NativeKernelReport(string ConvolutionPath, bool OneDnnAvailable, string? OneDnnVersion,
    string? AtenCpuCapability, bool NnpackEnabled);

/// <summary>Applies and reports Condense's settings of libtorch's convolution kernels (see the file header for why).</summary>
public static class NativeKernels
{
    private static nint _torchCpu;
    private static nint _c10;
    private static nint _context;

    /// <summary>oneDNN convolutions off, NNPACK off. Called once by TorchRuntime after loading.</summary>
    internal static void Apply()
    {
        if (!Resolve()) return;
        SetContextFlag("_ZN2at7Context20setUserEnabledMkldnnEb", false);
        SetContextFlag("_ZN2at7Context20setUserEnabledNNPACKEb", false);
    }

    /// <summary>
    /// Whether float32 convolutions go to oneDNN. Off by Condense (see the file header); benchmarks and tests
    /// turn it on for a measurement and back off. Process-wide: not for use while other threads compute.
    /// </summary>
    public static bool OneDnnConvolutions
    {
        get
        {
            TorchRuntime.EnsureLoaded();
            return Resolve() && HasOneDnn() && ContextFlag("_ZNK2at7Context17userEnabledMkldnnEv");
        }
        set
        {
            TorchRuntime.EnsureLoaded();
            if (Resolve()) SetContextFlag("_ZN2at7Context20setUserEnabledMkldnnEb", value);
        }
    }

    /// <summary>
    /// c10's junk fill: every fresh CPU allocation holds NaN bit patterns, so a kernel that reads memory before
    /// writing it gives NaN every time rather than by chance. For tests and checks; costs a memset per allocation.
    /// </summary>
    public static unsafe bool JunkFilledAllocations
    {
        get
        {
            TorchRuntime.EnsureLoaded();
            var flag = Flag("FLAGS_caffe2_cpu_allocator_do_junk_fill");
            return flag != null && *flag != 0;
        }
        set
        {
            TorchRuntime.EnsureLoaded();
            var junk = Flag("FLAGS_caffe2_cpu_allocator_do_junk_fill");
            var zero = Flag("FLAGS_caffe2_cpu_allocator_do_zero_fill");
            if (junk == null) return;
            if (value && zero != null) *zero = 0;   // c10 aborts the process when both are on
            *junk = (byte)(value ? 1 : 0);
        }
    }

    /// <summary>What is in force now.</summary>
    public static NativeKernelReport Report()
    {
        TorchRuntime.EnsureLoaded();
        bool resolved = Resolve();
        return new NativeKernelReport(
            ConvolutionPath: OneDnnConvolutions ? "oneDNN" : "native im2col + GEMM",
            OneDnnAvailable: resolved && HasOneDnn(),
            OneDnnVersion: CxxStringCall("_ZN2at18get_mkldnn_versionB5cxx11Ev"),
            AtenCpuCapability: CxxStringCall("_ZN2at18get_cpu_capabilityB5cxx11Ev"),
            NnpackEnabled: resolved && ContextFlag("_ZNK2at7Context17userEnabledNNPACKEv"));
    }

    // libtorch_cpu and libc10 are already loaded by TorchSharp: dlopen by soname returns the same handles.
    private static bool Resolve()
    {
        if (_context != 0) return true;
        if (!OperatingSystem.IsLinux()) return false;
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", out _torchCpu) || !NativeLibrary.TryLoad("libc10.so", out _c10)) return false;
        if (!NativeLibrary.TryGetExport(_torchCpu, "_ZN2at13globalContextEv", out var get)) return false;
        unsafe { _context = ((delegate* unmanaged<nint>)get)(); }
        return _context != 0;
    }

    private static unsafe byte* Flag(string name) =>
        Resolve() && NativeLibrary.TryGetExport(_c10, name, out var p) ? (byte*)p : null;

    // at::Context member functions: `this` is the first argument in the x86-64 SysV ABI.
    private static unsafe void SetContextFlag(string symbol, bool value)
    {
        if (NativeLibrary.TryGetExport(_torchCpu, symbol, out var f)) ((delegate* unmanaged<nint, byte, void>)f)(_context, (byte)(value ? 1 : 0));
    }

    private static unsafe bool ContextFlag(string symbol) =>
        NativeLibrary.TryGetExport(_torchCpu, symbol, out var f) && ((delegate* unmanaged<nint, byte>)f)(_context) != 0;

    // static bool at::Context::hasMKLDNN(): no `this`
    private static unsafe bool HasOneDnn() =>
        NativeLibrary.TryGetExport(_torchCpu, "_ZN2at7Context9hasMKLDNNEv", out var f) && ((delegate* unmanaged<byte>)f)() != 0;

    // A libtorch function returning std::string (libstdc++, cxx11 ABI): the result is constructed in a 32-byte
    // buffer we pass as the hidden return pointer; { char* data; size_t size; ... }. A string longer than the
    // in-place capacity (15) lives on the heap and is left there (a few bytes per doctor call).
    private static unsafe string? CxxStringCall(string symbol)
    {
        if (!Resolve() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        if (!NativeLibrary.TryGetExport(_torchCpu, symbol, out var f)) return null;
        var buffer = stackalloc byte[32];
        ((delegate* unmanaged<byte*, void>)f)(buffer);
        var data = *(byte**)buffer;
        var size = *(nuint*)(buffer + 8);
        if (data == null || size > 4096) return null;
        var text = System.Text.Encoding.ASCII.GetString(data, (int)size).Trim();
        return text.Length > 0 && text.All(c => c >= ' ' && c < 127) ? text : null;
    }
}
