using System.Diagnostics;
using Condense.Core.Runtime;
using TorchSharp;

namespace Condense.Core.Tests.Runtime;

/// <summary>
/// The runtime fix: TorchSharp's native library loads in the test process (it would throw on Debian 12 without
/// the GLIBCXX_3.4.32 weak-version patch), and the patch touched the output copy, never the NuGet cache.
/// </summary>
public sealed class TorchRuntimeTests
{
    [Fact]
    public void TensorForwardAndBackwardRunInTheTestProcess()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var w = torch.tensor(new float[] { 1f, -2f, 3f }, requires_grad: true);
        var x = torch.tensor(new float[] { 0.5f, 0.25f, 2f });
        var y = (w * x).sum() + w.pow(2).sum();     // dy/dw = x + 2w
        y.backward();
        Assert.Equal(0.5f - 0.5f + 6f + 1f + 4f + 9f, y.item<float>(), 5);
        Assert.Equal(new[] { 2.5f, -3.75f, 8f }, w.grad!.data<float>().ToArray());
        Assert.StartsWith("2.10", TorchRuntime.LibTorchVersion, StringComparison.Ordinal);
        Assert.Equal("0.107.0", TorchRuntime.TorchSharpVersion);
    }

    [Fact]
    public void OutputCopyIsPatchedAndNuGetCacheIsNot()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"missing {output}");
        Assert.Equal("WEAK", GlibcxxFlags(output));

        var cache = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cache), $"missing {cache}");
        Assert.Equal("none", GlibcxxFlags(cache));
    }

    // readelf -V prints "Name: GLIBCXX_3.4.32  Flags: WEAK  Version: 18" for the Vernaux entry.
    private static string GlibcxxFlags(string path)
    {
        var psi = new ProcessStartInfo("readelf", ["-V", "-W", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = text.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32", StringComparison.Ordinal));
        return line.Split("Flags:")[1].Trim().Split(' ')[0];
    }
}
