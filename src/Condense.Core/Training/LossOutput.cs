using static TorchSharp.torch;

namespace Condense.Core.Training;

/// <summary>
/// A step's loss (what is back-propagated) and optional named parts (e.g. per-teacher losses), which are logged
/// to metrics.jsonl and TensorBoard but not differentiated.
/// </summary>
/// <param name="Loss">The scalar loss that is back-propagated.</param>
/// <param name="Parts">Named scalar parts of the loss, logged only (null when there are none).</param>
public sealed record LossOutput(Tensor Loss, IReadOnlyDictionary<string, Tensor>? Parts = null)
{
    /// <summary>A loss with no parts.</summary>
    public static implicit operator LossOutput(Tensor loss) => new(loss);
}
