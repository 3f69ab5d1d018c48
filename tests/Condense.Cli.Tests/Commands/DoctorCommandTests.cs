namespace Condense.Cli.Tests.Commands;

public sealed class DoctorCommandTests
{
    [Fact]
    public void JsonSaysTorchSharpLoadedWithLibTorchVersion()
    {
        var r = CliProcess.Run("doctor", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.True(json.GetProperty("torchsharp_loaded").GetBoolean());
        Assert.StartsWith("2.10", json.GetProperty("libtorch_version").GetString(), StringComparison.Ordinal);
        Assert.Equal("0.107.0", json.GetProperty("torchsharp_version").GetString());
        Assert.True(json.GetProperty("onnxruntime_loaded").GetBoolean());
        Assert.StartsWith("1.31", json.GetProperty("onnxruntime_version").GetString(), StringComparison.Ordinal);
        Assert.True(json.GetProperty("torch_threads").GetInt32() >= 1);
        var kernels = json.GetProperty("kernels");
        Assert.Equal("native im2col + GEMM", kernels.GetProperty("convolution_path").GetString());
        Assert.False(kernels.GetProperty("nnpack_enabled").GetBoolean());
        Assert.DoesNotContain("NNPACK", r.Stderr, StringComparison.Ordinal);
        var assets = json.GetProperty("assets").EnumerateArray().ToList();
        Assert.Contains(assets, a => a.GetProperty("name").GetString() == "stories260K" && a.GetProperty("found").GetBoolean()
            && a.GetProperty("required").GetBoolean());
        Assert.Contains(assets, a => a.GetProperty("name").GetString() == "llama2xs" && !a.GetProperty("required").GetBoolean());
    }

    [Fact]
    public void HumanOutputIsATable()
    {
        var r = CliProcess.Run("doctor");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("TorchSharp", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("ok: TorchSharp loaded", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("convolution path", r.Stdout, StringComparison.Ordinal);
    }
}
