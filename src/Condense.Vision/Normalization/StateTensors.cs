// Checked reads of checkpoint tensors for the feature normalizers and their estimator: a missing key or a wrong
// shape in a training checkpoint is bad user input, reported as one line naming the owner, key and shapes.
using Condense.Core;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

internal static class StateTensors
{
    /// <summary>The tensor under <paramref name="key"/>, which must have exactly <paramref name="shape"/>.</summary>
    public static Tensor Get(IReadOnlyDictionary<string, Tensor> state, string key, long[] shape, string owner)
    {
        if (!state.TryGetValue(key, out var value))
            throw new InputException($"{owner}: checkpoint has no '{key}' tensor.");
        if (!value.shape.SequenceEqual(shape))
            throw new InputException($"{owner}: checkpoint '{key}' has shape ({string.Join(", ", value.shape)}), " +
                $"expected ({string.Join(", ", shape)}).");
        return value;
    }

    /// <summary>The entries of <paramref name="state"/> under <paramref name="prefix"/>, prefix removed.</summary>
    public static Dictionary<string, Tensor> WithPrefix(IReadOnlyDictionary<string, Tensor> state, string prefix) =>
        state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
}
