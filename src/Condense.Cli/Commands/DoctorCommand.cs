using System.CommandLine;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Condense.Core.IO;
using Condense.Core.Runtime;
using Condense.Vision.Onnx;
using Spectre.Console;
using TorchSharp;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense doctor</c>: checks the runtime (.NET, TorchSharp/libtorch, ONNX Runtime, CPU) and which optional
/// models and data are present. Exits 1 when something required (TorchSharp) is missing.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("doctor", "Check .NET, TorchSharp, libtorch, ONNX Runtime, the CPU and the optional data and models.")
        {
            json,
        };
        cmd.SetAction(pr => Run(new CliOutput(pr.GetValue(json))));
        return cmd;
    }

    /// <summary>One optional or required asset and where it was found.</summary>
    public sealed record Asset(string Name, bool Found, string? Path, bool Required);

    public sealed record Report(
        bool Ok,
        string DotnetVersion,
        string Os,
        bool TorchsharpLoaded,
        string TorchsharpVersion,
        string? LibtorchVersion,
        string? TorchsharpError,
        int TorchThreads,
        NativeKernelReport? Kernels,
        int ProcessorCount,
        IReadOnlyList<string> CpuVectorExtensions,
        bool OnnxruntimeLoaded,
        string? OnnxruntimeVersion,
        string? OnnxruntimeError,
        string? SharedRoot,
        IReadOnlyList<Asset> Assets);

    private static int Run(CliOutput output)
    {
        var report = Collect();
        output.Result(report);
        if (!output.Json) Render(output.Human, report);
        else if (!report.Ok) CliOutput.Error(report.TorchsharpError ?? "a required component is missing");
        return report.Ok ? ExitCodes.Ok : ExitCodes.Failure;
    }

    internal static Report Collect()
    {
        bool torchOk = TorchRuntime.TryLoad(out var torchError);
        string? ortVersion = null, ortError = null;
        try { ortVersion = OnnxRuntimeInfo.Version; }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            ortError = ex.GetBaseException().Message.Split('\n')[0];
        }
        var shared = AssetPaths.SharedRoot();
        return new Report(
            Ok: torchOk,
            DotnetVersion: Environment.Version.ToString(),
            Os: RuntimeInformation.OSDescription,
            TorchsharpLoaded: torchOk,
            TorchsharpVersion: TorchRuntime.TorchSharpVersion,
            LibtorchVersion: torchOk ? TorchRuntime.LibTorchVersion : null,
            TorchsharpError: torchError,
            TorchThreads: torchOk ? torch.get_num_threads() : 0,
            Kernels: torchOk ? NativeKernels.Report() : null,
            ProcessorCount: Environment.ProcessorCount,
            CpuVectorExtensions: VectorExtensions(),
            OnnxruntimeLoaded: ortVersion is not null,
            OnnxruntimeVersion: ortVersion,
            OnnxruntimeError: ortError,
            SharedRoot: shared,
            Assets: Assets());
    }

    private static List<Asset> Assets()
    {
        Asset SharedAsset(string name, string rel) { var p = AssetPaths.Shared(rel); return new(name, p is not null, p, false); }
        var fashion = Path.Combine(AssetPaths.FashionMnistDir(), "t10k-images-idx3-ubyte.gz");
        return
        [
            SharedAsset("llama2c stories260K", "models/llama2c/stories260K.bin"),
            SharedAsset("llama2c llama2xs_tinystories", "models/llama2c/llama2xs_tinystories.bin"),
            SharedAsset("llama2c tokenizer tok512", "models/llama2c/tok512.bin"),
            SharedAsset("hf stories260K", "models/hf/stories260K/model.safetensors"),
            SharedAsset("onnx squeezenet1.1", "models/onnx/squeezenet1.1_imagenet_fp16.onnx"),
            SharedAsset("mlperf_tiny resnet8", "models/mlperf_tiny/resnet8_cifar10_mlperf_tiny.safetensors"),
            SharedAsset("mlperf_tiny mobilenetv1 vww", "models/mlperf_tiny/mobilenetv1_0.25_vww96_mlperf_tiny.safetensors"),
            SharedAsset("tinystories train_partA", "data/tinystories/train_partA.txt"),
            SharedAsset("tinystories valid", "data/tinystories/valid_first794KB.txt"),
            SharedAsset("cifar10 first 499", "data/images/cifar10_batch1_first499_chw_u8.bin"),
            SharedAsset("mnist t10k", "data/images/mnist_t10k-images-idx3-ubyte.gz"),
            new("fashion-mnist (dataset-fashion-mnist)", File.Exists(fashion), File.Exists(fashion) ? AssetPaths.FashionMnistDir() : null, false),
        ];
    }

    internal static List<string> VectorExtensions()
    {
        var list = new List<string>();
        void Add(bool supported, string name) { if (supported) list.Add(name); }
        Add(Sse42.IsSupported, "sse4.2");
        Add(Avx.IsSupported, "avx");
        Add(Avx2.IsSupported, "avx2");
        Add(Fma.IsSupported, "fma");
        Add(Avx512F.IsSupported, "avx512f");
        Add(Avx512BW.IsSupported, "avx512bw");
        Add(Avx512Vbmi.IsSupported, "avx512vbmi");
        Add(Vector512.IsHardwareAccelerated, "vector512");
        // Extensions .NET has no intrinsics class for but libtorch's kernels use (bf16 dot products, VNNI, AMX).
        if (File.Exists("/proc/cpuinfo"))
        {
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            if (flags is not null)
            {
                var set = flags.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
                foreach (var f in new[] { "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16" })
                    Add(set.Contains(f), f);
            }
        }
        return list;
    }

    private static void Render(IAnsiConsole console, Report r)
    {
        var table = new Table().AddColumn("check").AddColumn("result");
        string Mark(bool ok, string text) => ok ? $"[green]{Markup.Escape(text)}[/]" : $"[red]{Markup.Escape(text)}[/]";
        table.AddRow(".NET", Markup.Escape(r.DotnetVersion));
        table.AddRow("OS", Markup.Escape(r.Os));
        table.AddRow("TorchSharp", Mark(r.TorchsharpLoaded, r.TorchsharpLoaded ? $"{r.TorchsharpVersion} loaded" : $"NOT loaded: {r.TorchsharpError}"));
        table.AddRow("libtorch", Markup.Escape(r.LibtorchVersion ?? "-"));
        table.AddRow("torch threads", $"{r.TorchThreads} (of {r.ProcessorCount} processors)");
        if (r.Kernels is { } k)
        {
            table.AddRow("convolution path", Markup.Escape(k.ConvolutionPath + (k.OneDnnAvailable
                ? $" (oneDNN {k.OneDnnVersion ?? "present"}: off, it gave NaN and wrong results on some channel counts; see NativeKernels)"
                : " (this libtorch has no oneDNN)")));
            table.AddRow("ATen kernels", Markup.Escape($"{k.AtenCpuCapability ?? "unknown"} (ATEN_CPU_CAPABILITY overrides); NNPACK {(k.NnpackEnabled ? "on" : "off")}"));
        }
        table.AddRow("CPU vector extensions", Markup.Escape(string.Join(' ', r.CpuVectorExtensions)));
        table.AddRow("ONNX Runtime", Mark(r.OnnxruntimeLoaded, r.OnnxruntimeVersion ?? $"not loaded: {r.OnnxruntimeError}"));
        table.AddRow("shared folder", Markup.Escape(r.SharedRoot ?? "not found (set CONDENSE_SHARED)"));
        foreach (var a in r.Assets)
            table.AddRow(Markup.Escape(a.Name), a.Found ? $"[green]found[/] {Markup.Escape(a.Path ?? "")}" : "[yellow]not found[/] (optional)");
        console.Write(table);
        console.MarkupLine(r.Ok ? "[green]ok[/]: TorchSharp loaded" : "[red]failed[/]: TorchSharp did not load");
    }
}
