using Condense.Core;
using Condense.Core.Data;
using Condense.Testing;
using Condense.Vision.Distillation;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Distillation;

/// <summary>The teacher cache on real images with a real (HOG) teacher: fill, reuse, restart, stale, corrupt.</summary>
public sealed class TeacherCacheTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-cache-");
    private readonly LabelledImages _images = DistillData.Load(new DataRecipe { TrainImages = 40, TestImages = 8 }).Train;

    private string _root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private Tensor Load(int[] idx) => DistillData.Images(_images, idx, null);

    private static HogTeacher Hog(int cell = 4) => new(new HogConfig(32, cell, 8, 9), "hog");

    [Fact]
    public void FirstReadComputesLaterReadsHitAndMatchTheTeacher()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = Hog();
        using var cache = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0]));
        int[] idx = [3, 1, 4, 1, 5];
        var first = cache.Get(idx, Load);
        Assert.Equal(4, cache.Misses);                          // distinct images computed once
        var second = cache.Get(idx, Load);
        Assert.Equal(4, cache.Misses);
        Assert.Equal(5 + 1, cache.Hits);                        // 1 duplicate on the first call, 5 on the second
        var direct = teacher.Forward(Load(idx)).Features!;
        Assert.True((second.Features! - direct).abs().max().item<float>() < 2e-3f);   // float16 storage
        Assert.Equal(first.Features!.data<float>().ToArray(), second.Features!.data<float>().ToArray());
        Assert.Null(second.Summary);
    }

    [Fact]
    public void EntriesSurviveARestartAndAreNotRecomputed()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = Hog();
        float[] before;
        using (var cache = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0])))
            before = cache.Get([7, 8, 9], Load).Features!.data<float>().ToArray();
        using var reopened = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => throw new InvalidOperationException("no probe needed"));
        Assert.Equal(3, reopened.Filled);
        Assert.Equal(before, reopened.Get([7, 8, 9], Load).Features!.data<float>().ToArray());
        Assert.Equal(0, reopened.Misses);
        Assert.False(double.IsNaN(reopened.MsPerImage));       // the first run's teacher time was recorded
    }

    [Fact]
    public void ADifferentTeacherOrDatasetNeverReadsTheOldEntries()
    {
        using var scope = torch.NewDisposeScope();
        using var a = Hog(cell: 4);
        using var b = Hog(cell: 8);
        using var ca = TeacherCache.Open(_root, a, "fmnist-40", _images.Count, () => Load([0]));
        ca.Get([0, 1], Load);
        using var cb = TeacherCache.Open(_root, b, "fmnist-40", _images.Count, () => Load([0]));
        using var cc = TeacherCache.Open(_root, a, "other-dataset", _images.Count, () => Load([0]));
        Assert.NotEqual(ca.Directory, cb.Directory);
        Assert.NotEqual(ca.Directory, cc.Directory);
        Assert.Equal(0, cb.Filled);
        Assert.Equal(0, cc.Filled);
    }

    [Fact]
    public void AStaleFolderUnderTheSameNameIsRebuilt()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = Hog();
        string dir;
        using (var cache = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0])))
        {
            cache.Get([0, 1, 2], Load);
            dir = cache.Directory;
        }
        var meta = Path.Combine(dir, "meta.json");
        File.WriteAllText(meta, File.ReadAllText(meta).Replace(teacher.Fingerprint, "0000", StringComparison.Ordinal));
        using var reopened = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0]));
        Assert.Equal(0, reopened.Filled);
    }

    [Fact]
    public void ACorruptEntryIsAOneLineErrorNamingFolderAndImage()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = Hog();
        string dir;
        using (var cache = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0])))
        {
            cache.Get([5, 6], Load);
            dir = cache.Directory;
        }
        var records = Path.Combine(dir, "records.bin");
        var bytes = File.ReadAllBytes(records);
        long recordBytes = bytes.Length / _images.Count;
        bytes[6 * recordBytes + 10] ^= 0xFF;
        File.WriteAllBytes(records, bytes);
        using var reopened = TeacherCache.Open(_root, teacher, "fmnist-40", _images.Count, () => Load([0]));
        reopened.Get([5], Load);                                  // intact entry reads fine
        var ex = Assert.Throws<InputException>(() => reopened.Get([6], Load));
        Assert.Contains(dir, ex.Message, StringComparison.Ordinal);
        Assert.Contains("image 6", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
