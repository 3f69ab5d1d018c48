// Teachers by kind name, so a run configuration can list them as data. The built-in kinds are the TorchSharp
// ports of the MLPerf Tiny Keras models and the HOG teacher; other assemblies (the ONNX teachers) add theirs
// with Register. Factories receive the whole TeacherSpec and own the parsing of its options.
using Condense.Core;
using Condense.Core.IO;

namespace Condense.Vision.Teachers;

/// <summary>Builds teachers by kind name; other assemblies add kinds with <see cref="Register"/>.</summary>
public static class TeacherRegistry
{
    /// <summary>The MLPerf Tiny ResNet8 trained on CIFAR-10 (Keras weights).</summary>
    public const string ResNet8Cifar10 = "resnet8_cifar10";
    /// <summary>The MLPerf Tiny MobileNetV1-0.25 Visual Wake Words model (Keras weights).</summary>
    public const string MobileNetV1Vww = "mobilenetv1_vww";
    /// <summary>MaskFeat's histograms of oriented gradients (features only).</summary>
    public const string Hog = "hog";
    /// <summary>ImageNet ResNet18 run by ONNX Runtime.</summary>
    public const string ResNet18 = "resnet18";
    /// <summary>ImageNet SqueezeNet 1.1 run by ONNX Runtime.</summary>
    public const string SqueezeNet = "squeezenet";
    /// <summary>A user-supplied ONNX image encoder described by the spec's options.</summary>
    public const string Onnx = "onnx";

    private static readonly Lock Gate = new();

    private static readonly Dictionary<string, Func<TeacherSpec, ITeacher>> Factories = new(StringComparer.Ordinal)
    {
        [ResNet8Cifar10] = spec => Keras(spec, path => KerasResNet8.Load(path), KerasResNet8.DefaultWeights),
        [MobileNetV1Vww] = spec => Keras(spec, path => KerasMobileNetV1.Load(path), KerasMobileNetV1.DefaultWeights),
        [Hog] = CreateHog,
        [ResNet18] = spec => OnnxPreset(spec, OnnxTeachers.ResNet18Config),
        [SqueezeNet] = spec => OnnxPreset(spec, OnnxTeachers.SqueezeNetConfig),
        [Onnx] = CreateOnnx,
    };

    /// <summary>The registered kinds, sorted.</summary>
    public static IReadOnlyList<string> Kinds
    {
        get
        {
            lock (Gate) return [.. Factories.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Adds a kind; registering a kind twice is a programming error.</summary>
    public static void Register(string kind, Func<TeacherSpec, ITeacher> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate)
        {
            if (!Factories.TryAdd(kind, factory))
                throw new ArgumentException($"teacher kind '{kind}' is already registered", nameof(kind));
        }
    }

    /// <summary>Builds the teacher <paramref name="spec"/> describes; an unknown kind is an input error.</summary>
    public static ITeacher Create(TeacherSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Func<TeacherSpec, ITeacher>? factory;
        lock (Gate) Factories.TryGetValue(spec.Kind, out factory);
        if (factory is null)
            throw new InputException($"unknown teacher '{spec.Kind}'" +
                (spec.Name == spec.Kind ? "" : $" (for teacher '{spec.Name}')") +
                $"; known teachers: {string.Join(", ", Kinds)}");
        return factory(spec);
    }

    /// <summary>Builds a built-in or registered teacher by kind with default options.</summary>
    public static ITeacher Create(string kind, int? inputSize = null) => Create(TeacherSpec.Of(kind, inputSize));

    // Options: weights = path of the Keras safetensors file (default: the shared MLPerf Tiny export).
    private static TorchTeacher Keras(TeacherSpec spec, Func<string, KerasClassifier> load, string defaultWeights)
    {
        spec.RequireOnly("weights");
        var model = load(spec.Option("weights") ?? AssetPaths.Require(defaultWeights));
        return new TorchTeacher(spec.Name, model, spec.InputSize);
    }

    // Options: cell_size, patch_size, bins (defaults 8, 16, 9); input size default 224.
    private static HogTeacher CreateHog(TeacherSpec spec)
    {
        spec.RequireOnly("cell_size", "patch_size", "bins");
        var defaults = new HogConfig();
        var config = new HogConfig(spec.InputSize ?? defaults.InputSize, spec.IntOption("cell_size", defaults.CellSize),
            spec.IntOption("patch_size", defaults.PatchSize), spec.IntOption("bins", defaults.Bins));
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"teacher '{spec.Name}': {ex.Message}", ex);
        }
        return new HogTeacher(config, spec.Name);
    }

    // Options: threads (ONNX Runtime intra-op threads). Input size default 224.
    private static OnnxTeacher OnnxPreset(TeacherSpec spec, Func<int, OnnxTeacherConfig> config)
    {
        spec.RequireOnly("threads");
        var c = config(spec.InputSize ?? 224);
        c.Name = spec.Name;
        if (spec.Option("threads") is not null) c.Threads = spec.IntOption("threads", 1);
        return new OnnxTeacher(c);
    }

    // A user-supplied ONNX image encoder described entirely by options (see OnnxTeacherConfig):
    // model_path (required), input_name, channel_order (rgb|bgr), scale, mean and std ("a,b,c"), input_type,
    // summary_output, summary_pool (none|mean), feature_output, dynamic_batch, dynamic_spatial, threads.
    private static OnnxTeacher CreateOnnx(TeacherSpec spec)
    {
        spec.RequireOnly("model_path", "input_name", "channel_order", "scale", "mean", "std", "input_type",
            "summary_output", "summary_pool", "feature_output", "dynamic_batch", "dynamic_spatial", "threads");
        var c = new OnnxTeacherConfig
        {
            Name = spec.Name,
            ModelPath = spec.Option("model_path") ?? throw new InputException($"teacher '{spec.Name}' (onnx): option model_path is required"),
            InputSize = spec.InputSize ?? 224,
        };
        if (spec.Option("input_name") is string inputName) c.InputName = inputName;
        if (spec.Option("channel_order") is string order) c.ChannelOrder = order;
        if (spec.Option("scale") is string scale) c.Scale = ParseFloats(spec, "scale", scale, 1)[0];
        if (spec.Option("mean") is string mean) c.Mean = ParseFloats(spec, "mean", mean, 3);
        if (spec.Option("std") is string std) c.Std = ParseFloats(spec, "std", std, 3);
        if (spec.Option("input_type") is string type) c.InputType = type;
        if (spec.Option("summary_output") is string so) c.SummaryOutput = so;
        if (spec.Option("summary_pool") is string pool) c.SummaryPool = pool;
        if (spec.Option("feature_output") is string fo) c.FeatureOutput = fo;
        if (spec.Option("dynamic_batch") is string db) c.DynamicBatch = ParseBool(spec, "dynamic_batch", db);
        if (spec.Option("dynamic_spatial") is string ds) c.DynamicSpatial = ParseBool(spec, "dynamic_spatial", ds);
        if (spec.Option("threads") is not null) c.Threads = spec.IntOption("threads", 1);
        return new OnnxTeacher(c);
    }

    private static float[] ParseFloats(TeacherSpec spec, string key, string text, int count)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
                throw new InputException($"teacher '{spec.Name}': option {key}='{text}' is not a list of numbers");
        if (values.Length != count)
            throw new InputException($"teacher '{spec.Name}': option {key}='{text}' needs {count} value(s)");
        return values;
    }

    private static bool ParseBool(TeacherSpec spec, string key, string text) => text.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new InputException($"teacher '{spec.Name}': option {key}='{text}' is not true/false"),
    };
}
