// The Keras functional-model config (`model.get_config()` JSON, as `keras_model_config` in the MLPerf Tiny
// safetensors metadata): one entry per layer with class_name, config and inbound_nodes. The TorchSharp models
// take every hyper-parameter (filters, kernel, strides, padding, epsilon, activation) from it by layer name and
// check that each layer reads from the layer the C# wiring assumes, so code and file cannot silently disagree.
using System.Text.Json;
using Condense.Core;

namespace Condense.Vision.Teachers;

/// <summary>One layer of a Keras functional model: its class, its config object and the layers it reads.</summary>
public sealed record KerasLayer(string Name, string ClassName, JsonElement Config, IReadOnlyList<string> Inputs)
{
    /// <summary>An integer pair such as kernel_size or strides, checked square ((3, 3) gives 3).</summary>
    public int SquarePair(string key)
    {
        var pair = Array(key).Select(e => e.GetInt32()).ToArray();
        if (pair.Length != 2 || pair[0] != pair[1])
            throw new InputException(
                $"Keras layer '{Name}': {key} must be a square pair, got [{string.Join(", ", pair)}]");
        return pair[0];
    }

    /// <summary>The integer config value <paramref name="key"/>.</summary>
    public int Int(string key) => Property(key).GetInt32();

    /// <summary>The floating-point config value <paramref name="key"/>.</summary>
    public double Double(string key) => Property(key).GetDouble();

    /// <summary>The boolean config value <paramref name="key"/>.</summary>
    public bool Bool(string key) => Property(key).GetBoolean();

    /// <summary>The string config value <paramref name="key"/>; null is an input error.</summary>
    public string String(string key) =>
        Property(key).GetString() ?? throw new InputException($"Keras layer '{Name}': '{key}' is null");

    private JsonElement.ArrayEnumerator Array(string key) => Property(key).EnumerateArray();

    private JsonElement Property(string key) =>
        Config.TryGetProperty(key, out var value)
            ? value
            : throw new InputException($"Keras layer '{Name}' ({ClassName}) has no '{key}' in its config");
}

/// <summary>The layers of a Keras functional model, by name.</summary>
public sealed class KerasModelConfig
{
    private readonly Dictionary<string, KerasLayer> layers;

    private KerasModelConfig(Dictionary<string, KerasLayer> layers) => this.layers = layers;

    /// <summary>Parses the JSON of a functional model (class_name "Functional" or "Model").</summary>
    public static KerasModelConfig Parse(string json, string source)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty("config", out var config) || !config.TryGetProperty("layers", out var list))
            throw new InputException($"{source}: Keras model config has no config.layers");
        var layers = new Dictionary<string, KerasLayer>(StringComparer.Ordinal);
        foreach (var layer in list.EnumerateArray())
        {
            var name = layer.GetProperty("name").GetString()!;
            var inputs = new List<string>();
            // Keras 2 format: inbound_nodes = [[["layer", node, tensor, {kwargs}], ...]], one list per call.
            if (layer.TryGetProperty("inbound_nodes", out var nodes))
                foreach (var node in nodes.EnumerateArray())
                    foreach (var edge in node.EnumerateArray())
                        inputs.Add(edge[0].GetString()!);
            // Clone: the JsonDocument is disposed on return.
            layers[name] = new KerasLayer(name, layer.GetProperty("class_name").GetString()!,
                layer.GetProperty("config").Clone(), inputs);
        }
        return new KerasModelConfig(layers);
    }

    /// <summary>Number of layers.</summary>
    public int Count => layers.Count;

    /// <summary>
    /// The layer called <paramref name="name"/>, checked to be a <paramref name="className"/> that reads exactly
    /// <paramref name="inputs"/> (in order; omit to skip the wiring check).
    /// </summary>
    public KerasLayer Layer(string name, string className, params string[] inputs)
    {
        if (!layers.TryGetValue(name, out var layer))
            throw new InputException($"Keras model config has no layer '{name}'");
        if (layer.ClassName != className)
            throw new InputException($"Keras layer '{name}' is a {layer.ClassName}, expected {className}");
        if (inputs.Length > 0 && !layer.Inputs.SequenceEqual(inputs))
            throw new InputException($"Keras layer '{name}' reads [{string.Join(", ", layer.Inputs)}], " +
                $"expected [{string.Join(", ", inputs)}]");
        return layer;
    }

    /// <summary>Checks that <paramref name="name"/> is a ReLU Activation reading <paramref name="input"/>.</summary>
    public void Relu(string name, string input)
    {
        var layer = Layer(name, "Activation", input);
        if (layer.String("activation") != "relu")
            throw new InputException($"Keras layer '{name}': expected a relu, got {layer.String("activation")}");
    }

    /// <summary>Keras's automatic layer names: "conv2d", "conv2d_1", "conv2d_2", ...</summary>
    public static string Indexed(string prefix, int index) => index == 0 ? prefix : $"{prefix}_{index}";
}
