// Where a backbone's inference time goes, per operation: every leaf module (Conv2d, BatchNorm2d, Linear, LayerNorm,
// activations, ...) is timed between a forward pre-hook and a forward hook and grouped by its type and shapes; what
// is left of the whole forward is the code between modules (attention matmuls, softmax, reshapes, window partition,
// padding, interpolation). Then each distinct convolution is timed alone, alternating: the model's module (GemmConv2d
// or nn.Conv2d), libtorch's conv2d on the same weights, and a one-node ONNX graph in ONNX Runtime, to tell a slow kernel
// from a slow model.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Condense.Vision.Export;
using Condense.Vision.Models;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Condense.Experiments.Vision;

/// <summary>How to profile.</summary>
public sealed record BackboneProfileOptions
{
    /// <summary>Registered backbones to profile.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["vit_small", "fastervit_0", "eradio_xt"];

    /// <summary>Square input side.</summary>
    public int Resolution { get; init; } = 1024;

    /// <summary>Threads of TorchSharp and ONNX Runtime.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Profiled forwards per model (the first, a warm-up, is not counted).</summary>
    public int Forwards { get; init; } = 3;

    /// <summary>Alternating rounds of the per-convolution comparison.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One group of operations in one model: a module type at one input and output shape.</summary>
/// <param name="Operation">E.g. "Conv2d 3x3/1 g1 64->64", "LayerNorm", or "between modules".</param>
/// <param name="Input">Input shape.</param>
/// <param name="Calls">Calls per forward.</param>
/// <param name="Milliseconds">Time per forward, mean over the profiled forwards.</param>
/// <param name="Share">Of the whole forward.</param>
public sealed record ProfiledOperation(string Operation, string Input, int Calls, double Milliseconds, double Share);

/// <summary>One convolution timed alone: the model's module, libtorch's conv2d on the same weights, and ONNX Runtime.</summary>
/// <param name="TorchMilliseconds">The module's forward (GemmConv2d or nn.Conv2d).</param>
/// <param name="LibTorchMilliseconds">libtorch's conv2d (equal to the module's for an nn.Conv2d, or where GemmConv2d falls back).</param>
/// <param name="OrtMilliseconds">A one-node ONNX graph in ONNX Runtime.</param>
/// <param name="Ratio">Module / ONNX Runtime.</param>
public sealed record ConvolutionComparison(string Operation, string Input, double TorchMilliseconds, double LibTorchMilliseconds, double OrtMilliseconds, double Ratio);

/// <summary>One model's profile.</summary>
public sealed record BackboneProfileRow(string Model, double ForwardMilliseconds, IReadOnlyList<ProfiledOperation> Operations,
    IReadOnlyList<ConvolutionComparison> Convolutions);

/// <summary>The profiles.</summary>
public sealed record BackboneProfileResult(int Resolution, int Threads, IReadOnlyList<BackboneProfileRow> Rows);

/// <summary>Profiles registered backbones per operation.</summary>
public static class BackboneProfile
{
    /// <summary>Runs the profile.</summary>
    public static BackboneProfileResult Run(BackboneProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Core.Runtime.TorchRuntime.EnsureLoaded();
        Core.Runtime.TorchRuntime.SetThreads(options.Threads);
        var rows = new List<BackboneProfileRow>();
        foreach (var name in options.Models)
        {
            manual_seed(0);
            using var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: options.Resolution, NumClasses: 0));
            backbone.Module.eval();
            rows.Add(Profile(name, backbone, options));
        }
        return new BackboneProfileResult(options.Resolution, options.Threads, rows);
    }

    private static BackboneProfileRow Profile(string name, IBackbone backbone, BackboneProfileOptions options)
    {
        using var noGrad = no_grad();
        using var images = rand(1, 3, options.Resolution, options.Resolution);
        var totals = new Dictionary<(string Op, string Input), (int Calls, double Ms)>();
        var convs = new Dictionary<(string Op, string Input), (nn.Module<Tensor, Tensor> Module, long[] Shape)>();
        var starts = new Dictionary<nn.Module, long>();
        bool recording = false;
        var handles = new List<Action>();   // hook removers
        foreach (var (_, module) in backbone.Module.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor> leaf) continue;
            var pre = leaf.register_forward_pre_hook((m, x) =>
            {
                if (recording) starts[m] = Stopwatch.GetTimestamp();
                return x;
            });
            handles.Add(pre.remove);
            var post = leaf.register_forward_hook((m, x, y) =>
            {
                if (!recording) return y;
                double ms = Stopwatch.GetElapsedTime(starts[m]).TotalMilliseconds;
                var key = (Describe(m), Shape(x));
                totals[key] = totals.TryGetValue(key, out var t) ? (t.Calls + 1, t.Ms + ms) : (1, ms);
                if (m is TorchSharp.Modules.Conv2d or GemmConv2d && !convs.ContainsKey(key)) convs[key] = ((nn.Module<Tensor, Tensor>)m, x.shape);
                return y;
            });
            handles.Add(post.remove);
        }
        double forwardMs = 0;
        try
        {
            for (int i = 0; i <= options.Forwards; i++)
            {
                recording = i > 0;
                using var scope = NewDisposeScope();
                var watch = Stopwatch.StartNew();
                backbone.ForwardBackbone(images);
                if (recording) forwardMs += watch.Elapsed.TotalMilliseconds;
                options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{name} forward {i}: {watch.Elapsed.TotalMilliseconds:F0} ms"));
            }
        }
        finally
        {
            foreach (var remove in handles) remove();
        }
        int n = options.Forwards;
        forwardMs /= n;
        var ops = totals.Select(kv => new ProfiledOperation(kv.Key.Op, kv.Key.Input, kv.Value.Calls / n, kv.Value.Ms / n, kv.Value.Ms / n / forwardMs)).ToList();
        double inModules = ops.Sum(o => o.Milliseconds);
        ops.Add(new ProfiledOperation("between modules", "-", 0, forwardMs - inModules, (forwardMs - inModules) / forwardMs));
        var comparisons = convs.Select(kv => CompareConvolution(kv.Key.Op, kv.Value.Module, kv.Value.Shape, options)).ToList();
        return new BackboneProfileRow(name, forwardMs, [.. ops.OrderByDescending(o => o.Milliseconds)], comparisons);
    }

    private static ConvolutionComparison CompareConvolution(string op, nn.Module<Tensor, Tensor> conv, long[] shape, BackboneProfileOptions options)
    {
        using var scope = NewDisposeScope();
        var (weight, stride, padding, groups) = conv switch
        {
            GemmConv2d g => ((Tensor)g.Weight, (int)g.Stride, (int)g.Padding, (int)g.Groups),
            TorchSharp.Modules.Conv2d c => (c.weight!, (int)c.stride[0], (int)c.padding![0], (int)c.groups),
            _ => throw new ArgumentException($"not a convolution: {conv.GetType().Name}", nameof(conv)),
        };
        // the same convolution as a one-node graph: weights read through a ModuleWeights of the conv itself
        var b = new OnnxGraphBuilder();
        var x = b.Input("images", shape.Cast<object>().ToArray());
        var w = new ModuleWeights(nn.Sequential(("conv", conv)));   // names "conv.weight", "conv.bias" (not disposed: it holds the model's conv)
        b.Output(b.Conv(w, "conv", x, stride, padding, groups), "y", shape[0], weight.shape[0], "h", "w");
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(b.Build("one convolution"));
        using var sessionOptions = OnnxSessions.Options(options.Threads);
        using var session = new InferenceSession(bytes, sessionOptions);
        var input = rand(shape);
        var ortInput = OnnxSessions.Input("images", input);
        double Time(Action a)
        {
            a();
            var watch = Stopwatch.StartNew();
            int calls = 0;
            while (watch.Elapsed.TotalSeconds < 0.3 || calls < 2)
            {
                a();
                calls++;
            }
            return watch.Elapsed.TotalMilliseconds / calls;
        }
        var torchMs = new List<double>();
        var libTorchMs = new List<double>();
        var ortMs = new List<double>();
        void Torch()
        {
            using var s = NewDisposeScope();
            conv.call(input);
        }
        void LibTorch()
        {
            using var s = NewDisposeScope();
            GemmConv2d.AlwaysLibTorch = true;
            try
            {
                conv.call(input);
            }
            finally
            {
                GemmConv2d.AlwaysLibTorch = false;
            }
        }
        void Ort()
        {
            using var r = session.Run([ortInput]);
        }
        for (int round = 0; round < options.Rounds; round++)
        {
            if (round % 2 == 0) { torchMs.Add(Time(Torch)); libTorchMs.Add(Time(LibTorch)); ortMs.Add(Time(Ort)); }
            else { ortMs.Add(Time(Ort)); libTorchMs.Add(Time(LibTorch)); torchMs.Add(Time(Torch)); }
        }
        double t = Peers.TrainStepBenchmark.Median(torchMs), o = Peers.TrainStepBenchmark.Median(ortMs);
        return new ConvolutionComparison(op, string.Join("x", shape), t, Peers.TrainStepBenchmark.Median(libTorchMs), o, t / o);
    }

    private static string Describe(nn.Module m) => m switch
    {
        TorchSharp.Modules.Conv2d c => string.Create(CultureInfo.InvariantCulture,
            $"Conv2d {c.weight!.shape[2]}x{c.weight.shape[3]}/{c.stride[0]} g{c.groups} {c.weight.shape[1] * c.groups}->{c.weight.shape[0]}"),
        GemmConv2d g => string.Create(CultureInfo.InvariantCulture,
            $"GemmConv2d {g.Kernel}x{g.Kernel}/{g.Stride} g{g.Groups} {g.Weight.shape[1] * g.Groups}->{g.Weight.shape[0]}"),
        TorchSharp.Modules.Linear l => string.Create(CultureInfo.InvariantCulture, $"Linear {l.weight!.shape[1]}->{l.weight.shape[0]}"),
        _ => m.GetType().Name,
    };

    private static string Shape(Tensor x) => string.Join("x", x.shape);

    /// <summary>The profiles as Markdown: per model the operations above 1% of the forward, then the convolution comparison.</summary>
    public static string Markdown(BackboneProfileResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        foreach (var row in result.Rows)
        {
            sb.AppendLine(inv, $"**{row.Model}** at {result.Resolution} px, batch 1, {result.Threads} threads: {row.ForwardMilliseconds:F0} ms per forward.");
            sb.AppendLine();
            sb.AppendLine("| operation | input | calls | ms | share |");
            sb.AppendLine("|---|---|---:|---:|---:|");
            foreach (var o in row.Operations.Where(o => o.Share >= 0.01))
                sb.AppendLine(inv, $"| {o.Operation} | {o.Input} | {o.Calls} | {o.Milliseconds:F1} | {o.Share:P1} |");
            if (row.Convolutions.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("| convolution alone | input | module ms | libtorch conv2d ms | ONNX Runtime ms | libtorch / module | module / ONNX Runtime |");
                sb.AppendLine("|---|---|---:|---:|---:|---:|---:|");
                foreach (var c in row.Convolutions.OrderByDescending(c => c.LibTorchMilliseconds))
                    sb.AppendLine(inv, $"| {c.Operation} | {c.Input} | {c.TorchMilliseconds:F1} | {c.LibTorchMilliseconds:F1} | {c.OrtMilliseconds:F1} | {c.LibTorchMilliseconds / c.TorchMilliseconds:F2}x | {c.Ratio:F2}x |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
