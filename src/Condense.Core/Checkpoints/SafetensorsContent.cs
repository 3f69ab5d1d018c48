// A loaded safetensors file: its tensors (owned by this object) and its string metadata.
using TorchSharp;

namespace Condense.Core.Checkpoints;

/// <summary>
/// The tensors and metadata of a safetensors file. The tensors are new CPU tensors created in the caller's
/// current DisposeScope; <see cref="Dispose"/> frees them too, for callers that hold no scope.
/// </summary>
public sealed class SafetensorsContent : IDisposable
{
    /// <summary>Wraps already-loaded tensors and metadata; this object takes ownership of the tensors.</summary>
    public SafetensorsContent(IReadOnlyDictionary<string, torch.Tensor> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensors by name, in file data order.</summary>
    public IReadOnlyDictionary<string, torch.Tensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in Tensors.Values) tensor.Dispose();
    }
}
