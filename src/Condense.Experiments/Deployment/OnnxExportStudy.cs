// Does a Condense vision model exported as ONNX behave in ONNX Runtime as it does in Condense, and how fast does it run
// there? For each registered backbone (random init, as built by the registry) and each distilled run, at each
// resolution: the file's size and node count, the largest |ONNX Runtime - TorchSharp| over every output for 1 and 4
// images, and images/s of both engines on the same batch, timed in alternating rounds (ONNX Runtime first in odd
// rounds, TorchSharp first in even ones) with the per-round ratio reported as median and range.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Condense.Vision.Distillation;
using Condense.Vision.Export;
using Condense.Vision.Models;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Condense.Experiments.Deployment;

/// <summary>How the study runs.</summary>
public sealed record OnnxExportStudyOptions
{
    /// <summary>Registered backbones and the square resolutions each is exported at.</summary>
    public IReadOnlyList<(string Model, int[] Resolutions)> Backbones { get; init; } =
        [("vit_tiny", [224]), ("vit_small", [224]), ("radio_vit", [128, 224]), ("fastervit_0", [224, 320]), ("eradio_xxxtiny", [224, 320])];

    /// <summary>`condense distill` run folders, each exported at its training resolution and twice that.</summary>
    public IReadOnlyList<string> Runs { get; init; } = [];

    /// <summary>Where the ONNX files go.</summary>
    public required string OutputDir { get; init; }

    /// <summary>Images per timed call.</summary>
    public int TimingBatch { get; init; } = 1;

    /// <summary>Threads of both engines.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Alternating timing rounds.</summary>
    public int Rounds { get; init; } = 6;

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One exported model at one resolution.</summary>
/// <param name="Model">Registry name or run folder name.</param>
/// <param name="Kind">"backbone" (random init) or "distilled" (student and teacher heads).</param>
/// <param name="Parameters">Parameters of the exported module.</param>
/// <param name="Height">Export height.</param>
/// <param name="Width">Export width.</param>
/// <param name="DynamicResolution">Whether the graph takes any size.</param>
/// <param name="Bytes">File size.</param>
/// <param name="Nodes">Graph nodes.</param>
/// <param name="Outputs">Graph outputs compared.</param>
/// <param name="MaxAbsDiff">Largest |ONNX Runtime - TorchSharp| over every output at 1 and 4 images.</param>
/// <param name="MaxAbsValue">Largest |TorchSharp output| (the scale of the difference).</param>
/// <param name="OrtImagesPerSecond">ONNX Runtime, median over rounds.</param>
/// <param name="TorchImagesPerSecond">TorchSharp, median over rounds.</param>
/// <param name="Ratio">ONNX Runtime / TorchSharp images/s, median of the per-round ratios.</param>
/// <param name="RatioLow">Smallest per-round ratio.</param>
/// <param name="RatioHigh">Largest per-round ratio.</param>
public sealed record OnnxExportStudyRow(string Model, string Kind, long Parameters, int Height, int Width, bool DynamicResolution, long Bytes, int Nodes,
    int Outputs, double MaxAbsDiff, double MaxAbsValue, double OrtImagesPerSecond, double TorchImagesPerSecond, double Ratio, double RatioLow, double RatioHigh);

/// <summary>The study's rows and settings.</summary>
public sealed record OnnxExportStudyResult(IReadOnlyList<OnnxExportStudyRow> Rows, int Threads, int TimingBatch, int Rounds, string OnnxRuntime, string Cpu);

/// <summary>Exports, checks and times ONNX models.</summary>
public static class OnnxExportStudy
{
    private sealed record Subject(string Name, string Kind, nn.Module Module, bool Dynamic,
        Func<int, int, Onnx.ModelProto> Export, Func<Tensor, IReadOnlyDictionary<string, Tensor>> Reference);

    /// <summary>Runs the study.</summary>
    public static OnnxExportStudyResult Run(OnnxExportStudyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads < 1 || options.TimingBatch < 1 || options.Rounds < 2)
            throw Core.InputException.ForOption("Rounds", $"needs Threads >= 1, TimingBatch >= 1 and Rounds >= 2, got {options.Threads}, {options.TimingBatch}, {options.Rounds}");
        Core.Runtime.TorchRuntime.EnsureLoaded();
        Core.Runtime.TorchRuntime.SetThreads(options.Threads);
        Directory.CreateDirectory(options.OutputDir);
        var rows = new List<OnnxExportStudyRow>();
        foreach (var (model, resolutions) in options.Backbones)
            foreach (int side in resolutions)
            {
                manual_seed(0);
                using var backbone = ModelRegistry.Create(model, new BackboneOptions(Resolution: side, NumClasses: 0));
                backbone.Module.eval();
                var subject = new Subject(model, "backbone", backbone.Module, OnnxBackboneExport.WriterFor(backbone).DynamicResolution(backbone),
                    (h, w) => OnnxBackboneExport.Export(backbone, h, w, model), images => OnnxBackboneExport.Reference(backbone, images));
                rows.Add(Measure(subject, side, side, options));
            }
        foreach (var run in options.Runs)
        {
            using var distilled = DistilledModelFile.Load(run);
            var model = distilled.Model;
            string name = Path.GetFileName(Path.GetFullPath(run).TrimEnd(Path.DirectorySeparatorChar));
            var subject = new Subject(name, "distilled", model, OnnxDistillExport.DynamicResolution(model),
                (h, w) => OnnxDistillExport.Export(model, h, w, name), images => OnnxModelExport.Reference(model, images));
            int side = distilled.Recipe.Data.Resolution;
            foreach (int s in subject.Dynamic ? new[] { side, 2 * side } : [side]) rows.Add(Measure(subject, s, s, options));
        }
        return new OnnxExportStudyResult(rows, options.Threads, options.TimingBatch, options.Rounds, Condense.Vision.Onnx.OnnxRuntimeInfo.Version, CpuName());
    }

    private static OnnxExportStudyRow Measure(Subject subject, int height, int width, OnnxExportStudyOptions options)
    {
        using var noGrad = no_grad();
        var proto = subject.Export(height, width);
        var path = Path.Combine(options.OutputDir, $"{subject.Name}-{height}x{width}.onnx");
        int nodes = proto.Graph.Node.Count, outputs = proto.Graph.Output.Count;
        long bytes = OnnxFile.Save(proto, path);
        var agreement = OnnxAgreement.Check(path, subject.Reference, [(1, height, width), (4, height, width)]);
        var (ort, torchIps, ratios) = Time(path, subject, height, width, options);
        var sorted = ratios.Order().ToArray();
        var row = new OnnxExportStudyRow(subject.Name, subject.Kind, subject.Module.parameters().Sum(p => p.numel()), height, width, subject.Dynamic, bytes,
            nodes, outputs, agreement.Max(a => a.MaxAbsDiff), agreement.Max(a => a.MaxAbsValue), ort, torchIps,
            Median(sorted), sorted[0], sorted[^1]);
        options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{row.Model} {height}x{width}: {bytes / 1048576.0:F1} MiB, max |diff| {row.MaxAbsDiff:E1}, ORT {ort:F1} img/s, TorchSharp {torchIps:F1} img/s, ratio {row.Ratio:F2}"));
        return row;
    }

    // Alternating rounds; each engine runs the same batch enough times per round for about 0.4 s.
    private static (double Ort, double Torch, double[] Ratios) Time(string onnx, Subject subject, int height, int width, OnnxExportStudyOptions options)
    {
        using var sessionOptions = OnnxSessions.Options(options.Threads);
        using var session = new InferenceSession(onnx, sessionOptions);
        int B = options.TimingBatch;
        manual_seed(7);
        using var images = rand(B, 3, height, width);
        var input = OnnxSessions.Input("images", images);
        void RunOrt()
        {
            using var results = session.Run([input]);
        }
        void RunTorch()
        {
            using var scope = NewDisposeScope();
            subject.Reference(images);
        }
        double Seconds(Action action, int calls)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) action();
            return watch.Elapsed.TotalSeconds / calls;
        }
        // warm-up, and calls per round from one call's time
        int ortCalls = Math.Clamp((int)Math.Ceiling(0.4 / Seconds(RunOrt, 1)), 1, 200);
        int torchCalls = Math.Clamp((int)Math.Ceiling(0.4 / Seconds(RunTorch, 1)), 1, 200);
        var ort = new List<double>();
        var torchIps = new List<double>();
        var ratios = new double[options.Rounds];
        for (int r = 0; r < options.Rounds; r++)
        {
            double o, t;
            if (r % 2 == 0)
            {
                o = B / Seconds(RunOrt, ortCalls);
                t = B / Seconds(RunTorch, torchCalls);
            }
            else
            {
                t = B / Seconds(RunTorch, torchCalls);
                o = B / Seconds(RunOrt, ortCalls);
            }
            ort.Add(o);
            torchIps.Add(t);
            ratios[r] = o / t;
        }
        return (Median([.. ort.Order()]), Median([.. torchIps.Order()]), ratios);
    }

    private static double Median(IEnumerable<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);

    private static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>The result as the generated Markdown section.</summary>
    public static string Markdown(OnnxExportStudyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"ONNX Runtime {result.OnnxRuntime} against Condense's TorchSharp forward on {result.Cpu}, {result.Threads} thread(s) each; "
            + $"speed on batches of {result.TimingBatch}, {result.Rounds} alternating rounds (ratio: median of the per-round ratios, with their range).");
        sb.AppendLine();
        sb.AppendLine("| model | kind | input | parameters | file | nodes | max abs diff (1 and 4 images) | max abs value | ONNX Runtime img/s | TorchSharp img/s | ONNX Runtime / TorchSharp |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in result.Rows)
            sb.AppendLine(inv, $"| {r.Model} | {r.Kind} | {r.Height}x{r.Width}{(r.DynamicResolution ? " (any size)" : "")} | {r.Parameters / 1e6:F2}M | {r.Bytes / 1048576.0:F1} MiB | {r.Nodes} | {r.MaxAbsDiff:E1} | {r.MaxAbsValue:F2} | {r.OrtImagesPerSecond:F1} | {r.TorchImagesPerSecond:F1} | {r.Ratio:F2}x ({r.RatioLow:F2}-{r.RatioHigh:F2}) |");
        return sb.ToString();
    }
}
