using Condense.Core.Data;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>
/// Where a teacher's outputs for dataset images come from: its on-disk cache (computed once, then read) or the
/// teacher itself on every call (online). Teachers see the dataset image at its native resolution and resize it
/// to their own input size, so each runs at its own resolution whatever the student's.
/// </summary>
public sealed class TeacherTargets : IDisposable
{
    private readonly LabelledImages _images;
    private readonly TeacherCache? _cache;

    /// <summary>Targets of <paramref name="teacher"/> for <paramref name="images"/>, cached under <paramref name="cacheRoot"/> or online when it is null.</summary>
    /// <param name="datasetKey">Identifies the image set in the cache key.</param>
    public TeacherTargets(ITeacher teacher, LabelledImages images, string datasetKey, string? cacheRoot)
    {
        Teacher = teacher;
        _images = images;
        if (cacheRoot is not null)
            _cache = TeacherCache.Open(cacheRoot, teacher, datasetKey, images.Count, () => Load([0]));
    }

    /// <summary>The teacher that computes the targets.</summary>
    public ITeacher Teacher { get; }
    /// <summary>The on-disk cache, or null when the teacher runs online.</summary>
    public TeacherCache? Cache => _cache;

    private Tensor Load(int[] indices) => DistillData.Images(_images, indices, null);

    /// <summary>Teacher outputs for the given dataset indices: summary (B, Cs) and/or features (B, Cf, h, w).</summary>
    public TeacherOutput Get(int[] indices) => _cache is not null ? _cache.Get(indices, Load) : Teacher.Forward(Load(indices));

    /// <summary>Fills the cache for every image (no-op when online or already filled); reports images done.</summary>
    public void Warm(int batchSize, Action<int>? progress = null)
    {
        if (_cache is null) return;
        for (int start = 0; start < _images.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, _images.Count - start)).ToArray();
            _cache.Get(idx, Load);
            progress?.Invoke(idx.Length);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _cache?.Dispose();
}
