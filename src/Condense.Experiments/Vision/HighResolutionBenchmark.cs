// `condense bench highres`: inference throughput of backbones at one high resolution, relative to a reference model
// (ViT-S), alternated: every round times one forward of each subject in turn (the order rotates between rounds), and
// each subject's images/s is divided by the reference's from the same round. The windowed models (FasterViT, E-RADIO)
// run twice, with GemmConv2d's matrix-product convolutions and with libtorch's own conv2d (GemmConv2d.AlwaysLibTorch):
// the ablation of the change that made them faster, measured in the same rounds. With OnnxRuntime set, every model
// also runs as its ONNX export in ONNX Runtime (same threads), the deployment path docs/export.md describes.
using System.Diagnostics;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Experiments.Vision;

/// <summary>How the benchmark runs.</summary>
public sealed record HighResolutionOptions
{
    /// <summary>Registered backbones; the first is the reference.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["vit_small", "fastervit_0", "eradio_xt"];

    /// <summary>Square input side.</summary>
    public int Resolution { get; init; } = 1024;

    /// <summary>Images per forward.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Alternating rounds.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Threads (null: torch's default).</summary>
    public int? Threads { get; init; }

    /// <summary>Whether every model also runs as its ONNX export in ONNX Runtime.</summary>
    public bool OnnxRuntime { get; init; }

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One subject: a model with one convolution path.</summary>
/// <param name="Engine">"TorchSharp" or "ONNX Runtime".</param>
/// <param name="Convolutions">"matrix products" (GemmConv2d), "libtorch" (the ablation), "-" (a model without GemmConv2d) or "MLAS" (ONNX Runtime's).</param>
/// <param name="Milliseconds">Median milliseconds per forward.</param>
/// <param name="Ratio">Images/s over the reference's in the same round: median.</param>
/// <param name="RatioLow">Smallest per-round ratio.</param>
/// <param name="RatioHigh">Largest per-round ratio.</param>
/// <param name="PerRound">Per-round ratios.</param>
public sealed record HighResolutionRow(string Model, string Engine, string Convolutions, long Parameters, double Milliseconds, double ImagesPerSecond,
    double Ratio, double RatioLow, double RatioHigh, IReadOnlyList<double> PerRound);

/// <summary>The rows and settings.</summary>
public sealed record HighResolutionResult(string Reference, int Resolution, int Batch, int Rounds, int Threads, string Machine, IReadOnlyList<HighResolutionRow> Rows);

/// <summary>Alternated high-resolution throughput against a reference backbone.</summary>
public static class HighResolutionBenchmark
{
    /// <summary>Runs the benchmark.</summary>
    public static HighResolutionResult Run(HighResolutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Models.Count < 2 || options.Rounds < 2 || options.Batch < 1 || options.Resolution < 32)
            throw Core.InputException.ForOption("Models", $"needs 2+ models, Rounds >= 2, Batch >= 1 and Resolution >= 32 (got {options.Models.Count}, {options.Rounds}, {options.Batch}, {options.Resolution})");
        Core.Runtime.TorchRuntime.EnsureLoaded();
        if (options.Threads is int t) Core.Runtime.TorchRuntime.SetThreads(t);
        var models = new List<(string Name, IBackbone Backbone, bool HasGemm)>();
        try
        {
            foreach (var name in options.Models)
            {
                manual_seed(0);
                var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: options.Resolution, NumClasses: 0));
                backbone.Module.eval();
                models.Add((name, backbone, backbone.Module.modules().Any(m => m is GemmConv2d)));
            }
            manual_seed(1);
            using var images = rand(options.Batch, 3, options.Resolution, options.Resolution);
            var sessions = new List<Microsoft.ML.OnnxRuntime.InferenceSession>();
            var subjects = new List<(string Name, IBackbone Backbone, string Path, Func<double> Forward)>();
            try
            {
                foreach (var (name, backbone, gemm) in models)
                {
                    subjects.Add((name, backbone, gemm ? "matrix products" : "-", () => Torch(backbone, images, false)));
                    if (gemm) subjects.Add((name, backbone, "libtorch", () => Torch(backbone, images, true)));
                    if (!options.OnnxRuntime) continue;
                    var onnx = Google.Protobuf.MessageExtensions.ToByteArray(
                        Condense.Vision.Export.OnnxBackboneExport.Export(backbone, options.Resolution, options.Resolution, name));
                    using var sessionOptions = Condense.Vision.Export.OnnxSessions.Options(get_num_threads());
                    var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, sessionOptions);
                    sessions.Add(session);
                    var input = Condense.Vision.Export.OnnxSessions.Input("images", images);
                    subjects.Add((name, backbone, "MLAS", () =>
                    {
                        var watch = Stopwatch.StartNew();
                        using var results = session.Run([input]);
                        return watch.Elapsed.TotalMilliseconds;
                    }));
                }
                return Alternate(options, subjects);
            }
            finally
            {
                foreach (var session in sessions) session.Dispose();
            }
        }
        finally
        {
            foreach (var m in models) m.Backbone.Dispose();
        }
    }

    private static double Torch(IBackbone backbone, Tensor images, bool libTorchConvolutions)
    {
        GemmConv2d.AlwaysLibTorch = libTorchConvolutions;
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            backbone.ForwardBackbone(images);
            return watch.Elapsed.TotalMilliseconds;
        }
        finally
        {
            GemmConv2d.AlwaysLibTorch = false;
        }
    }

    private static HighResolutionResult Alternate(HighResolutionOptions options, List<(string Name, IBackbone Backbone, string Path, Func<double> Forward)> subjects)
    {
        foreach (var s in subjects) s.Forward();                                  // warm-up
        var ms = subjects.Select(_ => new List<double>()).ToList();
        for (int r = 0; r < options.Rounds; r++)
        {
            for (int j = 0; j < subjects.Count; j++)
            {
                int i = (j + r) % subjects.Count;                                  // rotate the order
                ms[i].Add(subjects[i].Forward());
            }
            options.Log?.Invoke($"round {r + 1}/{options.Rounds}: " + string.Join(", ", subjects.Select((s, i) => $"{s.Name} ({s.Path}) {ms[i][^1]:F0} ms")));
        }
        var rows = subjects.Select((s, i) =>
        {
            var perRound = ms[0].Zip(ms[i], (reference, own) => reference / own).ToList();
            var sorted = perRound.Order().ToArray();
            double median = Median(ms[i].Order().ToArray());
            return new HighResolutionRow(s.Name, s.Path == "MLAS" ? "ONNX Runtime" : "TorchSharp", s.Path, s.Backbone.Module.parameters().Sum(p => p.numel()), median,
                options.Batch * 1000 / median, Median(sorted), sorted[0], sorted[^1], perRound);
        }).ToList();
        return new HighResolutionResult(options.Models[0], options.Resolution, options.Batch, options.Rounds, get_num_threads(),
            Core.Runtime.MachineInfo.Describe(), rows);
    }

    private static double Median(IEnumerable<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);

    /// <summary>The result as Markdown.</summary>
    public static string Markdown(HighResolutionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(inv, $"{result.Resolution} px, batch {result.Batch}, {result.Threads} threads, {result.Machine}; {result.Rounds} rounds, each timing one forward of every subject in rotating order. Ratio: images/s over {result.Reference}'s in the same round (median, range).");
        sb.AppendLine();
        sb.AppendLine("| model | engine | convolutions | parameters | ms per forward | images/s | vs " + result.Reference + " (TorchSharp) |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|");
        foreach (var r in result.Rows)
            sb.AppendLine(inv, $"| {r.Model} | {r.Engine} | {r.Convolutions} | {r.Parameters / 1e6:F1}M | {r.Milliseconds:F0} | {r.ImagesPerSecond:F2} | **{r.Ratio:F2}x** ({r.RatioLow:F2}-{r.RatioHigh:F2}) |");
        return sb.ToString();
    }
}
