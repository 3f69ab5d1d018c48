// `condense bench conv-paths`: the evidence behind NativeKernels' choice of libtorch's own convolution kernels over
// oneDNN, measured on the user's machine.
//
// Correctness: for a list of convolution shapes (the ones that failed on a 2-vCPU AMD EPYC, and controls) each path
// computes output, input gradient and weight gradient in float32 with junk-filled allocations (fresh memory is NaN,
// so reading it before writing shows every time), against float64 (libtorch's own kernels; oneDNN takes float32 and
// bfloat16 only). The score is max |error| / max |float64|.
// Speed: per backbone, inference at batch 1 and a training step (forward, loss on summary and features, backward,
// AdamW) at a small batch; each round times one call per path, the paths alternate, the medians are compared.
using System.Diagnostics;
using Condense.Core.Runtime;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Experiments.Vision;

/// <summary>One convolution shape checked on both paths.</summary>
public sealed record ConvPathShape(int InChannels, int OutChannels, int Kernel, int Stride, int Groups)
{
    /// <summary>The shape in short form, e.g. "64->128 k3 s2 g4".</summary>
    public override string ToString() => $"{InChannels}->{OutChannels} k{Kernel} s{Stride}" + (Groups > 1 ? $" g{Groups}" : "");
}

/// <summary>Worst relative error of one path on one shape (NaN counts as infinite).</summary>
public sealed record ConvPathError(ConvPathShape Shape, string Path, double Output, double InputGradient, double WeightGradient)
{
    /// <summary>The largest of the three errors.</summary>
    public double Worst => Math.Max(Output, Math.Max(InputGradient, WeightGradient));
}

/// <summary>Median seconds per call of one backbone measurement on both paths.</summary>
public sealed record ConvPathTiming(string Model, int Resolution, string Mode, int Batch, double NativeSeconds, double OneDnnSeconds,
    IReadOnlyList<double> NativePerRound, IReadOnlyList<double> OneDnnPerRound)
{
    /// <summary>How many times faster oneDNN is (native time / oneDNN time).</summary>
    public double OneDnnSpeedup => NativeSeconds / OneDnnSeconds;
}

/// <summary>Correctness and speed of libtorch's two convolution paths.</summary>
public static class ConvPathBenchmark
{
    /// <summary>Shapes that failed under oneDNN on the reference machine, and controls (multiples of 16).</summary>
    public static IReadOnlyList<ConvPathShape> DefaultShapes { get; } =
    [
        new(8, 8, 3, 1, 1), new(4, 4, 3, 1, 1), new(3, 16, 3, 2, 1), new(24, 24, 3, 1, 1), new(40, 40, 3, 1, 1),
        new(48, 48, 3, 2, 1), new(48, 64, 2, 2, 1), new(24, 24, 3, 1, 24), new(16, 16, 3, 1, 1), new(64, 64, 3, 1, 1),
    ];

    /// <summary>Both paths on each shape; restores the path in force afterwards.</summary>
    public static List<ConvPathError> CheckShapes(IReadOnlyList<ConvPathShape> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        bool before = NativeKernels.OneDnnConvolutions;
        var rows = new List<ConvPathError>();
        try
        {
            foreach (var shape in shapes)
                foreach (bool onednn in new[] { false, true })
                {
                    NativeKernels.OneDnnConvolutions = onednn;
                    rows.Add(Check(shape, onednn ? "oneDNN" : "native"));
                }
        }
        finally
        {
            NativeKernels.OneDnnConvolutions = before;
            NativeKernels.JunkFilledAllocations = false;
        }
        return rows;
    }

    private static ConvPathError Check(ConvPathShape s, string path)
    {
        using var scope = NewDisposeScope();
        manual_seed(s.InChannels * 1000 + s.OutChannels);
        int padding = s.Kernel / 2, side = 16;
        var w = randn(s.OutChannels, s.InChannels / s.Groups, s.Kernel, s.Kernel) * 0.3;
        var x = randn(2, s.InChannels, side, side);
        int outSide = (side + 2 * padding - s.Kernel) / s.Stride + 1;
        var upstream = randn(2, s.OutChannels, outSide, outSide);
        Tensor y32, gx32, gw32;
        NativeKernels.JunkFilledAllocations = true;
        try
        {
            var w32 = w.clone().requires_grad_();
            var x32 = x.clone().requires_grad_();
            y32 = nn.functional.conv2d(x32, w32, strides: [s.Stride, s.Stride], padding: [padding, padding], groups: s.Groups);
            (y32 * upstream).sum().backward();
            (gx32, gw32) = (x32.grad!, w32.grad!);
        }
        finally
        {
            NativeKernels.JunkFilledAllocations = false;
        }
        var w64 = w.to(float64).requires_grad_();
        var x64 = x.to(float64).requires_grad_();
        var y64 = nn.functional.conv2d(x64, w64, strides: [s.Stride, s.Stride], padding: [padding, padding], groups: s.Groups);
        (y64 * upstream.to(float64)).sum().backward();
        return new ConvPathError(s, path, Relative(y32, y64), Relative(gx32, x64.grad!), Relative(gw32, w64.grad!));
    }

    private static double Relative(Tensor actual, Tensor expected)
    {
        double err = (actual.to(float64) - expected).abs().max().item<double>();
        return double.IsNaN(err) ? double.PositiveInfinity : err / (expected.abs().max().item<double>() + 1e-12);
    }

    /// <summary>Times each backbone on both paths, alternating; restores the path in force afterwards.</summary>
    public static List<ConvPathTiming> Time(IReadOnlyList<string> models, int resolution, int trainBatch, int rounds, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        bool before = NativeKernels.OneDnnConvolutions;
        var rows = new List<ConvPathTiming>();
        try
        {
            foreach (var name in models)
            {
                manual_seed(0);
                using var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: resolution, NumClasses: 0));
                var module = backbone.Module;
                using var optimizer = optim.AdamW(module.parameters(), lr: 1e-5);
                foreach (var (mode, batch) in new[] { ("infer", 1), ("train", trainBatch) })
                {
                    if (mode == "train") module.train(); else module.eval();
                    double Call()
                    {
                        using var scope = NewDisposeScope();
                        var images = rand(batch, 3, resolution, resolution);
                        var clock = Stopwatch.StartNew();
                        if (mode == "infer")
                        {
                            using var noGrad = no_grad();
                            backbone.ForwardBackbone(images);
                        }
                        else
                        {
                            optimizer.zero_grad();
                            var output = backbone.ForwardBackbone(images);
                            (output.Summary.square().mean() + output.Features.square().mean()).backward();
                            optimizer.step();
                        }
                        return clock.Elapsed.TotalSeconds;
                    }
                    var times = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
                    foreach (bool onednn in new[] { false, true }) { NativeKernels.OneDnnConvolutions = onednn; Call(); }   // warm-up
                    for (int r = 0; r < rounds; r++)
                        foreach (bool onednn in r % 2 == 0 ? new[] { false, true } : [true, false])
                        {
                            NativeKernels.OneDnnConvolutions = onednn;
                            times[onednn].Add(Call());
                        }
                    var row = new ConvPathTiming(name, resolution, mode, batch, Median(times[false]), Median(times[true]), times[false], times[true]);
                    rows.Add(row);
                    log?.Invoke($"{name} {resolution}px {mode} b{batch}: native {row.NativeSeconds * 1e3:F0} ms, oneDNN {row.OneDnnSeconds * 1e3:F0} ms ({row.OneDnnSpeedup:F2}x)");
                }
            }
        }
        finally
        {
            NativeKernels.OneDnnConvolutions = before;
        }
        return rows;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
