using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>One training partition of a step: a slice of the batch shown to the student at one resolution.</summary>
/// <param name="Resolution">Student input size of this partition.</param>
/// <param name="Start">Offset of the partition's rows in the batch.</param>
/// <param name="Images">(b, 3, R, R) RGB in [0, 1].</param>
public sealed record DistillPartition(int Resolution, int Start, Tensor Images);

/// <summary>
/// One distillation step's input: the dataset indices (teacher cache keys) and the student's views, one
/// partition per training resolution (a single partition without multi-resolution training).
/// </summary>
public sealed record DistillBatch(int[] Indices, IReadOnlyList<DistillPartition> Partitions) : IDisposable
{
    /// <summary>Splits <paramref name="indices"/> evenly over <paramref name="resolutions"/> and renders each part.</summary>
    public static DistillBatch Create(Core.Data.LabelledImages set, int[] indices, IReadOnlyList<int> resolutions)
    {
        var parts = new List<DistillPartition>();
        int n = indices.Length, k = resolutions.Count;
        for (int j = 0, start = 0; j < k; j++)
        {
            int count = n / k + (j < n % k ? 1 : 0);
            parts.Add(new DistillPartition(resolutions[j], start, DistillData.Images(set, indices[start..(start + count)], resolutions[j])));
            start += count;
        }
        return new DistillBatch(indices, parts);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in Partitions) p.Images.Dispose();
    }
}
