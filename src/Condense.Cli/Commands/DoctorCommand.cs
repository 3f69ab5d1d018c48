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
        else if (!report.Ok) CliOutput.Error(report.TorchsharpError ?? MissingRequired(report));
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
        var assets = Assets();
        return new Report(
            Ok: torchOk && assets.All(a => a.Found || !a.Required),
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
            Assets: assets);
    }

    private static string MissingRequired(Report r) =>
        "shipped asset missing: " + string.Join(", ", r.Assets.Where(a => a.Required && !a.Found).Select(a => a.Name)) + " (see `condense assets`)";

    // The catalog's assets; the shipped ones are required (the defaults use them), the rest optional.
    private static List<Asset> Assets() =>
    [
        .. AssetCheck.Run(hash: false).Select(s => new Asset(s.Entry.Name, s.Available,
            s.Copies.FirstOrDefault(c => c.Good)?.Path, s.Entry.Provider == AssetProvider.Shipped)),
    ];

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
            table.AddRow(Markup.Escape(a.Name), a.Found ? $"[green]found[/] {Markup.Escape(a.Path ?? "")}"
                : a.Required ? "[red]missing[/] (shipped with Condense; see `condense assets`)" : "[yellow]not found[/] (optional; see `condense assets`)");
        console.Write(table);
        console.MarkupLine(r.Ok ? "[green]ok[/]: TorchSharp loaded, shipped assets present"
            : r.TorchsharpLoaded ? $"[red]failed[/]: {Markup.Escape(MissingRequired(r))}" : "[red]failed[/]: TorchSharp did not load");
    }
}
