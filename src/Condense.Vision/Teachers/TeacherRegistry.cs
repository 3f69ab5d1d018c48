// Teachers by kind name, so a run configuration can list them as data. The built-in kinds are the TorchSharp
// ports of the MLPerf Tiny Keras models and the HOG teacher; other assemblies (the ONNX teachers) add theirs
// with Register. Factories receive the whole TeacherSpec and own the parsing of its options.
using Condense.Core;
using Condense.Core.IO;

namespace Condense.Vision.Teachers;

public static class TeacherRegistry
{
    public const string ResNet8Cifar10 = "resnet8_cifar10";
    public const string MobileNetV1Vww = "mobilenetv1_vww";
    public const string Hog = "hog";

    private static readonly Lock Gate = new();

    private static readonly Dictionary<string, Func<TeacherSpec, ITeacher>> Factories = new(StringComparer.Ordinal)
    {
        [ResNet8Cifar10] = spec => Keras(spec, path => KerasResNet8.Load(path), KerasResNet8.DefaultWeights),
        [MobileNetV1Vww] = spec => Keras(spec, path => KerasMobileNetV1.Load(path), KerasMobileNetV1.DefaultWeights),
        [Hog] = CreateHog,
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
        var model = load(spec.Option("weights") ?? AssetPaths.RequireShared(defaultWeights));
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
}
