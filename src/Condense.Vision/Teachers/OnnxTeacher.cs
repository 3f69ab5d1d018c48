using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Condense.Core;
using Condense.Core.Runtime;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Condense.Vision.Teachers;

/// <summary>
/// A frozen ONNX model (run by ONNX Runtime on the CPU) as an AM-RADIO teacher. The constructor checks the config
/// against the graph, edits the graph (extra outputs, free batch/spatial size, see <see cref="OnnxGraph"/>), and
/// runs a probe batch that fixes the output shapes and verifies that a whole-batch run equals a single-image run;
/// when it does not, the teacher falls back to one image per call and says so in <see cref="BatchNote"/>.
/// Forward copies the preprocessed batch once into a pinned buffer that ONNX Runtime reads in place, and ONNX Runtime
/// writes into preallocated pinned output buffers that are copied once into TorchSharp tensors (TorchSharp 0.107
/// exposes no data pointer without unsafe code, so its memory cannot be handed to ONNX Runtime directly).
///
/// Deviations:
/// - Resizing is bilinear with antialiasing (TorchSharp 0.107's <c>interpolate</c> takes <c>antialias</c>, backed by
///   libtorch's <c>_upsample_bilinear2d_aa</c>), i.e. torchvision's <c>Resize(antialias=True)</c>, not the PIL/
///   OpenCV resize a given model was trained with; images are squashed to a square, not center-cropped.
/// </summary>
public sealed class OnnxTeacher : ITeacher
{
    private const string ProbeFailure = "the model does not run at InputSize";

    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly RunOptions _runOptions = new();
    private readonly string _inputName;
    private readonly bool _halfInput;
    private readonly string[] _outputNames;
    private readonly bool[] _halfOutput;
    private readonly long[][] _outputShapes;   // per image, without the batch dim
    private readonly int _summaryIndex = -1;
    private readonly int _featureIndex = -1;
    private readonly float[] _multiply;        // scale / std, model channel order
    private readonly float[] _subtract;        // mean / std
    private bool _disposed;

    /// <summary>Loads, checks, edits and probes the model <paramref name="config"/> describes; problems are input errors.</summary>
    public OnnxTeacher(OnnxTeacherConfig config)
    {
        TorchRuntime.EnsureLoaded();
        Config = config with { Mean = [.. config.Mean], Std = [.. config.Std] };
        var path = config.ModelPath;
        CheckSettings(config, path);
        if (!File.Exists(path)) throw new InputException($"{path}: ONNX model not found");
        var bytes = File.ReadAllBytes(path);
        var model = OnnxGraph.Parse(bytes, path);

        var input = PlanInput(config, path, model.Graph);
        _inputName = input.Name;
        _halfInput = input.Half;
        (_outputNames, _summaryIndex, _featureIndex) = PlanOutputs(config, path, model.Graph);
        _multiply = [.. Enumerable.Range(0, 3).Select(c => config.Scale / config.Std[c])];
        _subtract = [.. Enumerable.Range(0, 3).Select(c => config.Mean[c] / config.Std[c])];
        _options = CreateSessionOptions(config);

        _session = OpenSession(model, path, input.FreeBatch, input.FreeSpatial, out var edits);
        try
        {
            _halfOutput = [.. _outputNames.Select(n => OutputIsHalf(path, _session, n))];
            var note = input.TryWholeBatch ? null : "batch fixed at 1 by the model (DynamicBatch off)";
            long[][]? shapes = null;
            if (input.TryWholeBatch)
            {
                (shapes, note) = ProbeWholeBatch();
                if (note is not null && input.FreeBatch)
                {
                    _session.Dispose();
                    _session = OpenSession(model, path, false, input.FreeSpatial, out edits);
                }
            }
            _outputShapes = shapes ?? ProbeOneImage(path, config.InputSize);
            RunsWholeBatch = note is null;
            BatchNote = note ?? (input.FreeBatch ? "batch dim lifted from 1 to N" : "batch dim dynamic in the model");
            GraphEdits = edits;
            (SummaryDim, FeatureDim, FeatureGrid) = CheckOutputShapes(config, path);
        }
        catch
        {
            _session.Dispose();
            _options.Dispose();
            _runOptions.Dispose();
            throw;
        }
        Fingerprint = MakeFingerprint(bytes, Config);
    }

    /// <summary>The graph input a teacher feeds, and what the graph must free for the configured batch and size.</summary>
    private sealed record InputPlan(string Name, bool Half, bool FreeSpatial, bool FreeBatch, bool TryWholeBatch);

    /// <summary>Step 1: the (B, 3, H, W) float input, checked against the config: size, batch and element type.</summary>
    private static InputPlan PlanInput(OnnxTeacherConfig config, string path, GraphProto graph)
    {
        var input = ResolveInput(config, path, OnnxGraph.RealInputs(graph));
        var name = input.Name;
        var dims = input.Type.TensorType.Shape?.Dim;
        if (dims is not null && dims.Count != 4)
            throw new InputException($"{path}: input '{name}' has rank {dims.Count}, a teacher needs (B, 3, H, W)");
        long? Fixed(int k) => dims is null || dims[k].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? null : dims[k].DimValue;
        if (Fixed(1) is { } channels && channels != 3)
            throw new InputException($"{path}: input '{name}' has {channels} channels, a teacher needs 3");
        var fixedH = Fixed(2);
        var fixedW = Fixed(3);
        var freeSpatial = false;
        if ((fixedH is { } h && h != config.InputSize) || (fixedW is { } w && w != config.InputSize))
        {
            if (!config.DynamicSpatial)
                throw new InputException($"{path}: InputSize {config.InputSize} differs from the model's fixed input "
                    + $"{fixedH}x{fixedW} of '{name}' (set DynamicSpatial to run it at another size)");
            freeSpatial = true;
        }
        var fixedBatch = Fixed(0);
        if (fixedBatch is { } fb && fb != 1 && !config.DynamicBatch)
            throw new InputException($"{path}: input '{name}' has a batch fixed at {fb} (set DynamicBatch)");
        var freeBatch = config.DynamicBatch && fixedBatch is not null;

        var elemType = input.Type.TensorType.ElemType;
        var half = elemType switch
        {
            (int)TensorProto.Types.DataType.Float => false,
            (int)TensorProto.Types.DataType.Float16 => true,
            _ => throw new InputException($"{path}: input '{name}' is {OnnxGraph.ElementTypeName(elemType)}, "
                + "a teacher needs float32 or float16"),
        };
        var modelType = half ? "float16" : "float32";
        if (config.InputType is not null && config.InputType != modelType)
            throw new InputException($"{path}: InputType {config.InputType} but input '{name}' is {modelType}");
        return new InputPlan(name, half, freeSpatial, freeBatch, TryWholeBatch: freeBatch || fixedBatch is null);
    }

    /// <summary>Step 2: the graph values the teacher reads (summary, features), each once, and where each lands.</summary>
    private static (string[] Names, int Summary, int Features) PlanOutputs(OnnxTeacherConfig config, string path, GraphProto graph)
    {
        var values = graph.Output.Select(o => o.Name).Concat(graph.Node.SelectMany(n => n.Output))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (field, name) in new[] { ("SummaryOutput", config.SummaryOutput), ("FeatureOutput", config.FeatureOutput) })
        {
            if (name is not null && !values.Contains(name))
                throw new InputException($"{path}: {field} '{name}' is not a value of the graph "
                    + "(OnnxGraph.ListValues lists them)");
        }
        string[] names = [.. new[] { config.SummaryOutput, config.FeatureOutput }.OfType<string>().Distinct(StringComparer.Ordinal)];
        return (names, config.SummaryOutput is null ? -1 : Array.IndexOf(names, config.SummaryOutput),
            config.FeatureOutput is null ? -1 : Array.IndexOf(names, config.FeatureOutput));
    }

    /// <summary>Step 3: CPU session settings (threads as torch's unless set; ONNX Runtime's own log kept quiet).</summary>
    private static SessionOptions CreateSessionOptions(OnnxTeacherConfig config) => new()
    {
        IntraOpNumThreads = config.Threads ?? torch.get_num_threads(),
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        // Failures surface as exceptions with the same text; keep ONNX Runtime's own log quiet.
        LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
    };

    /// <summary>Step 4: the edited graph (extra outputs, freed batch/size) in a session; the edits made are returned.</summary>
    private InferenceSession OpenSession(ModelProto model, string path, bool freeBatch, bool freeSpatial, out IReadOnlyList<string> edits)
    {
        var edited = model.Clone();
        OnnxGraph.SetOutputs(edited, _outputNames);
        edits = OnnxGraph.MakeDynamic(edited, freeBatch, freeSpatial);
        try
        {
            return new InferenceSession(OnnxGraph.ToBytes(edited), _options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InputException($"{path}: ONNX Runtime rejects the edited model: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>Step 5: a batch of 2 against single images: the output shapes, or why the teacher must go one image per call.</summary>
    private (long[][]? Shapes, string? Note) ProbeWholeBatch()
    {
        try
        {
            var shapes = ProbeBatch();
            return shapes is null ? (null, "batch fixed at 1: a batch of 2 differs from single-image runs") : (shapes, null);
        }
        catch (OnnxRuntimeException ex)
        {
            return (null, $"batch fixed at 1: a batch of 2 fails ({FirstLine(ex.Message)})");
        }
    }

    private long[][] ProbeOneImage(string path, int inputSize)
    {
        try
        {
            return ProbeSingle();
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InputException($"{path}: {ProbeFailure} {inputSize}: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>The settings this teacher was built from.</summary>
    public OnnxTeacherConfig Config { get; }
    /// <inheritdoc />
    public string Name => Config.Name;
    /// <inheritdoc />
    public string Fingerprint { get; }
    /// <inheritdoc />
    public int InputSize => Config.InputSize;
    /// <inheritdoc />
    public int? SummaryDim { get; }
    /// <inheritdoc />
    public int? FeatureDim { get; }
    /// <inheritdoc />
    public int? FeatureGrid { get; }

    /// <summary>Whether a whole batch goes to ONNX Runtime in one call (else one image per call).</summary>
    public bool RunsWholeBatch { get; }

    /// <summary>How the batch is run and why, e.g. "batch dim lifted from 1 to N".</summary>
    public string BatchNote { get; }

    /// <summary>Nodes rewritten to free the spatial size (empty when none).</summary>
    public IReadOnlyList<string> GraphEdits { get; }

    /// <inheritdoc />
    public TeacherOutput Forward(Tensor images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (images.dim() != 4 || images.shape[1] != 3 || images.dtype != ScalarType.Float32)
            throw new InputException($"teacher {Name}: expected (B, 3, H, W) float32 images, got "
                + $"({string.Join(", ", images.shape)}) {images.dtype}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Preprocess(images);                                   // (B, 3, S, S) model dtype
        var raw = RunInto(x);
        Tensor? summary = null;
        Tensor? features = null;
        if (_summaryIndex >= 0)
        {
            var s = raw[_summaryIndex].to(ScalarType.Float32);
            summary = s.dim() == 4 ? (s.shape[2] * s.shape[3] == 1 ? s.flatten(1) : s.mean([2, 3])) : s;  // (B, Cs)
        }
        if (_featureIndex >= 0) features = raw[_featureIndex].to(ScalarType.Float32);           // (B, Cf, h, w)
        return new TeacherOutput(summary?.MoveToOuterDisposeScope(), features?.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _options.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>Resize to InputSize, reorder channels, scale and normalize; contiguous in the model's dtype.</summary>
    private Tensor Preprocess(Tensor images)
    {
        var size = Config.InputSize;
        var x = images;                                                // (B, 3, H, W) in [0, 1]
        if (x.shape[2] != size || x.shape[3] != size)
            x = nn.functional.interpolate(x, [size, size], mode: InterpolationMode.Bilinear, align_corners: false,
                antialias: true);                                      // (B, 3, S, S)
        if (Config.ChannelOrder == "bgr") x = x.flip(1);
        var multiply = tensor(_multiply).view(1, 3, 1, 1);
        var subtract = tensor(_subtract).view(1, 3, 1, 1);
        x = x * multiply - subtract;
        if (_halfInput) x = x.to(ScalarType.Float16);
        return x.contiguous();
    }

    /// <summary>
    /// Runs ONNX Runtime over pinned buffers, whole batch or one image per call: one copy of the input out of
    /// TorchSharp, ONNX Runtime writes straight into the preallocated output buffers (views, no copy), one copy of
    /// each output back into TorchSharp.
    /// </summary>
    private Tensor[] RunInto(Tensor x)
    {
        var batch = x.shape[0];
        var input = PinnedCopy(x, _halfInput);                         // (B, 3, S, S)
        var buffers = new Array[_outputNames.Length];
        for (var k = 0; k < buffers.Length; k++)
            buffers[k] = Pinned(_halfOutput[k], batch * _outputShapes[k].Aggregate(1L, (a, b) => a * b));
        var inputRow = x.shape.Skip(1).ToArray();
        var step = RunsWholeBatch ? batch : 1;
        for (long start = 0; start < batch; start += step)
        {
            var count = Math.Min(step, batch - start);
            var values = new List<OrtValue>();
            try
            {
                var inputValue = View(input, start, count, inputRow);
                values.Add(inputValue);
                var outs = buffers.Select((b, k) => View(b, start, count, _outputShapes[k])).ToArray();
                values.AddRange(outs);
                _session.Run(_runOptions, [_inputName], [inputValue], _outputNames, outs);
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }
        var outputs = new Tensor[buffers.Length];
        for (var k = 0; k < buffers.Length; k++)
        {
            outputs[k] = empty([batch, .. _outputShapes[k]],
                dtype: _halfOutput[k] ? ScalarType.Float16 : ScalarType.Float32);
            Bytes(buffers[k]).CopyTo(outputs[k].bytes);
        }
        return outputs;
    }

    private static Array Pinned(bool half, long count) => half
        ? GC.AllocateUninitializedArray<Float16>(checked((int)count), pinned: true)
        : GC.AllocateUninitializedArray<float>(checked((int)count), pinned: true);

    /// <summary>A pinned copy of a contiguous float32/float16 tensor.</summary>
    private static Array PinnedCopy(Tensor t, bool half)
    {
        var buffer = Pinned(half, t.numel());
        t.bytes.CopyTo(Bytes(buffer));
        return buffer;
    }

    private static Span<byte> Bytes(Array buffer) => buffer is float[] f
        ? MemoryMarshal.AsBytes(f.AsSpan())
        : MemoryMarshal.AsBytes(((Float16[])buffer).AsSpan());

    /// <summary>An OrtValue over rows [start, start + count) of a pinned buffer (no copy).</summary>
    private static OrtValue View(Array buffer, long start, long count, long[] row)
    {
        var size = row.Aggregate(1L, (a, b) => a * b);
        long[] shape = [count, .. row];
        var offset = checked((int)(start * size));
        var length = checked((int)(count * size));
        return buffer is float[] f
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, f.AsMemory(offset, length), shape)
            : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                ((Float16[])buffer).AsMemory(offset, length), shape);
    }

    /// <summary>Runs two probe images as one batch and the second alone; null when they disagree.</summary>
    private long[][]? ProbeBatch()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = ProbeImages();                                    // (2, 3, S, S)
        var both = RunAllocating(Preprocess(images));
        var single = RunAllocating(Preprocess(images.narrow(0, 1, 1)));
        for (var k = 0; k < both.Length; k++)
        {
            var a = both[k].narrow(0, 1, 1);
            var b = single[k];
            if (!a.shape.SequenceEqual(b.shape)) return null;
            var tolerance = 1e-4 * (1 + b.abs().max().item<float>());
            if ((a - b).abs().max().item<float>() > tolerance) return null;
        }
        return [.. single.Select(t => t.shape.Skip(1).ToArray())];
    }

    private long[][] ProbeSingle()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var outputs = RunAllocating(Preprocess(ProbeImages().narrow(0, 0, 1)));
        return [.. outputs.Select(t => t.shape.Skip(1).ToArray())];
    }

    /// <summary>Runs with outputs allocated by ONNX Runtime (shapes not known yet) and copies them to float32.</summary>
    private Tensor[] RunAllocating(Tensor x)
    {
        using var input = View(PinnedCopy(x, _halfInput), 0, x.shape[0], [.. x.shape.Skip(1)]);
        using var results = _session.Run(_runOptions, [_inputName], [input], _outputNames);
        var outputs = new Tensor[results.Count];
        var k = 0;
        foreach (var r in results)
        {
            var shape = r.GetTensorTypeAndShape().Shape;
            var data = r.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16
                ? [.. MemoryMarshal.Cast<Float16, Half>(r.GetTensorDataAsSpan<Float16>()).ToArray().Select(v => (float)v)]
                : r.GetTensorDataAsSpan<float>().ToArray();
            outputs[k++] = tensor(data, shape);
        }
        return outputs;
    }

    /// <summary>Two smooth, different, deterministic images: (2, 3, S, S) in [0, 1].</summary>
    private Tensor ProbeImages()
    {
        var size = Config.InputSize;
        var r = linspace(0, 1, size);
        var y = r.view(size, 1).expand(size, size);
        var x = r.view(1, size).expand(size, size);
        var a = stack([y, x, (x + y) / 2]);
        var b = stack([1 - x, x * y, 1 - y]);
        return stack([a, b]);
    }

    private (int? Summary, int? Features, int? Grid) CheckOutputShapes(OnnxTeacherConfig config, string path)
    {
        int? summaryDim = null, featureDim = null, grid = null;
        if (_summaryIndex >= 0)
        {
            var s = _outputShapes[_summaryIndex];                     // (Cs) or (Cs, h, w)
            if (s.Length == 3 && s[1] * s[2] != 1 && config.SummaryPool != "mean")
                throw new InputException($"{path}: SummaryOutput '{config.SummaryOutput}' is (B, {string.Join(", ", s)});"
                    + " set SummaryPool to mean");
            if (s.Length is not (1 or 3))
                throw new InputException($"{path}: SummaryOutput '{config.SummaryOutput}' has rank {s.Length + 1}, "
                    + "needs (B, C) or (B, C, h, w)");
            summaryDim = (int)s[0];
        }
        if (_featureIndex >= 0)
        {
            var f = _outputShapes[_featureIndex];                     // (Cf, h, w)
            if (f.Length != 3)
                throw new InputException($"{path}: FeatureOutput '{config.FeatureOutput}' has rank {f.Length + 1}, "
                    + "needs (B, C, h, w)");
            if (f[1] != f[2])
                throw new InputException($"{path}: FeatureOutput '{config.FeatureOutput}' is {f[1]}x{f[2]}, not square");
            featureDim = (int)f[0];
            grid = (int)f[1];
        }
        return (summaryDim, featureDim, grid);
    }

    private static void CheckSettings(OnnxTeacherConfig config, string path)
    {
        if (string.IsNullOrWhiteSpace(config.Name)) throw new InputException($"{path}: teacher Name is empty");
        if (config.InputSize < 8) throw new InputException($"{path}: InputSize {config.InputSize} is too small");
        if (config.ChannelOrder is not ("rgb" or "bgr"))
            throw new InputException($"{path}: ChannelOrder '{config.ChannelOrder}' is not rgb or bgr");
        if (config.SummaryPool is not ("none" or "mean"))
            throw new InputException($"{path}: SummaryPool '{config.SummaryPool}' is not none or mean");
        if (config.InputType is not (null or "float32" or "float16"))
            throw new InputException($"{path}: InputType '{config.InputType}' is not float32 or float16");
        if (config.Mean.Length != 3 || config.Std.Length != 3)
            throw new InputException($"{path}: Mean and Std need 3 values each");
        if (config.Std.Any(s => s == 0 || !float.IsFinite(s)) || config.Mean.Any(m => !float.IsFinite(m))
            || !float.IsFinite(config.Scale))
            throw new InputException($"{path}: Scale, Mean and Std must be finite and Std nonzero");
        if (config.Threads is < 1) throw new InputException($"{path}: Threads {config.Threads} must be at least 1");
        if (config.SummaryOutput is null && config.FeatureOutput is null)
            throw new InputException($"{path}: set SummaryOutput and/or FeatureOutput");
    }

    private static ValueInfoProto ResolveInput(OnnxTeacherConfig config, string path, IReadOnlyList<ValueInfoProto> inputs)
    {
        var names = string.Join(", ", inputs.Select(i => i.Name));
        if (config.InputName is null)
        {
            return inputs.Count == 1 ? inputs[0]
                : throw new InputException($"{path}: the model has {inputs.Count} inputs ({names}); set InputName");
        }
        return inputs.FirstOrDefault(i => i.Name == config.InputName)
            ?? throw new InputException($"{path}: InputName '{config.InputName}' is not an input of the model "
                + $"(inputs: {names})");
    }

    private static bool OutputIsHalf(string path, InferenceSession session, string name)
    {
        var type = session.OutputMetadata[name].ElementDataType;
        return type switch
        {
            TensorElementType.Float => false,
            TensorElementType.Float16 => true,
            _ => throw new InputException($"{path}: output '{name}' is {type}, a teacher needs float32 or float16"),
        };
    }

    private static string MakeFingerprint(byte[] modelBytes, OnnxTeacherConfig config)
    {
        var file = Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        var text = $"onnx-teacher/1|{file}|{config.CanonicalText()}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length <= 300 ? line : line[..300] + "...";
    }
}
