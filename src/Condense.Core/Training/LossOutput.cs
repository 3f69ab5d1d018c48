using static TorchSharp.torch;

namespace Condense.Core.Training;

/// <summary>
/// A step's loss (what is back-propagated) and optional named parts (e.g. per-teacher losses), which are logged
/// to metrics.jsonl and TensorBoard but not differentiated.
/// </summary>
public sealed record LossOutput(Tensor Loss, IReadOnlyDictionary<string, Tensor>? Parts = null)
{
    public static implicit operator LossOutput(Tensor loss) => new(loss);
}
