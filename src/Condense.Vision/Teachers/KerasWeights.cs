// A Keras model exported to safetensors (the MLPerf Tiny files in shared/models/mlperf_tiny): tensors named
// "<layer>/<layer>/<weight>" exactly as in the Keras .h5 (kernel, bias, depthwise_kernel, gamma, beta,
// moving_mean, moving_variance), Keras layouts (kernels HWIO, depthwise kernels (kh, kw, C, 1), dense kernels
// (in, out)), and the model's get_config() JSON under __metadata__["keras_model_config"].
using System.Security.Cryptography;
using Condense.Core;
using Condense.Core.Checkpoints;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>The tensors, config and content hash of one Keras safetensors file; disposing frees the tensors.</summary>
public sealed class KerasWeights : IDisposable
{
    /// <summary>The safetensors metadata key that holds the model's get_config() JSON.</summary>
    public const string ConfigKey = "keras_model_config";

    private readonly SafetensorsContent content;

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    /// <summary>Lower-case hex SHA-256 of the whole file.</summary>
    public string Sha256 { get; }

    /// <summary>The model's layers, parsed from the metadata.</summary>
    public KerasModelConfig Config { get; }

    private KerasWeights(string path, string sha256, SafetensorsContent content, KerasModelConfig config) =>
        (Path, Sha256, this.content, Config) = (path, sha256, content, config);

    /// <summary>Reads <paramref name="path"/>; the tensors are CPU float32 outside any dispose scope.</summary>
    public static KerasWeights Load(string path)
    {
        SafetensorsContent content;
        using (NewDisposeScope())
        {
            content = Safetensors.Load(path);
            foreach (var tensor in content.Tensors.Values) tensor.DetachFromDisposeScope();
        }
        try
        {
            if (!content.Metadata.TryGetValue(ConfigKey, out var json))
                throw new InputException($"{path}: no '{ConfigKey}' in the safetensors metadata; not a Keras export");
            var config = KerasModelConfig.Parse(json, path);
            using var stream = File.OpenRead(path);
            var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
            return new KerasWeights(path, sha, content, config);
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    /// <summary>Weight <paramref name="weight"/> ("kernel", "gamma", ...) of layer <paramref name="layer"/>.</summary>
    public Tensor Get(string layer, string weight)
    {
        var name = $"{layer}/{layer}/{weight}";
        if (!content.Tensors.TryGetValue(name, out var tensor))
            throw new InputException($"{Path}: no tensor '{name}'");
        if (tensor.dtype != ScalarType.Float32)
            throw new InputException($"{Path}: tensor '{name}' is {tensor.dtype}, expected float32");
        return tensor;
    }

    /// <summary>Like <see cref="Get(string, string)"/>, checked to have <paramref name="shape"/>.</summary>
    public Tensor Get(string layer, string weight, params long[] shape)
    {
        var tensor = Get(layer, weight);
        if (!tensor.shape.SequenceEqual(shape))
            throw new InputException($"{Path}: tensor '{layer}/{layer}/{weight}' has shape " +
                $"[{string.Join(", ", tensor.shape)}], expected [{string.Join(", ", shape)}]");
        return tensor;
    }

    /// <inheritdoc />
    public void Dispose() => content.Dispose();
}
