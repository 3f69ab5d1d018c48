using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Condense.Core;
using Condense.Core.IO;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>
/// Teacher outputs on disk, so repeated epochs (and restarted runs) never rerun a teacher on the same image.
///
/// One cache folder per (teacher fingerprint, dataset key, view): the fingerprint changes with the teacher's
/// weights and preprocessing, the dataset key with the images and the view (resolution, crop, flip) they are
/// shown at, so a stale entry can never be read for a new setting. Inside: <c>meta.json</c> (what the folder
/// holds), <c>records.bin</c> (one fixed-size slot per image: summary then features, float16) and
/// <c>index.bin</c> (per slot: a present flag and the CRC-32 of the slot). A slot is written and flushed before its
/// flag, so a killed run leaves at worst an absent slot, never a half-written one that reads as present. A slot
/// whose checksum does not match is reported as corrupt (one line naming the folder and image), not silently used.
/// Deviation: float16 storage (halves the disk; teacher targets lose nothing that matters at fp16 precision).
/// </summary>
public sealed class TeacherCache : IDisposable
{
    private const string Format = "condense.teacher-cache.v1";
    private const int IndexEntryBytes = 8;     // [present u8][pad 3][crc32 u32]

    private readonly ITeacher _teacher;
    private readonly FileStream _records;
    private readonly FileStream _index;
    private readonly long[] _summaryShape;     // per image, empty when the teacher has no summary
    private readonly long[] _featureShape;
    private readonly long _summaryElems, _featureElems, _recordBytes;
    private readonly byte[] _present;
    private CacheMeta _meta;
    private double _computeMs;

    private TeacherCache(ITeacher teacher, string dir, int count, CacheMeta meta)
    {
        _meta = meta;
        long[] summaryShape = meta.SummaryShape, featureShape = meta.FeatureShape;
        _teacher = teacher;
        Directory = dir;
        Count = count;
        _summaryShape = summaryShape;
        _featureShape = featureShape;
        _summaryElems = summaryShape.Length == 0 ? 0 : summaryShape.Aggregate(1L, (a, b) => a * b);
        _featureElems = featureShape.Length == 0 ? 0 : featureShape.Aggregate(1L, (a, b) => a * b);
        _recordBytes = 2 * (_summaryElems + _featureElems);
        _records = new FileStream(Path.Combine(dir, "records.bin"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        _index = new FileStream(Path.Combine(dir, "index.bin"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (_index.Length < (long)count * IndexEntryBytes) _index.SetLength((long)count * IndexEntryBytes);
        if (_records.Length < count * _recordBytes) _records.SetLength(count * _recordBytes);
        _present = new byte[count];
        var entry = new byte[IndexEntryBytes];
        _index.Position = 0;
        for (int i = 0; i < count; i++)
        {
            _index.ReadExactly(entry);
            _present[i] = entry[0];
        }
    }

    /// <summary>The cache folder.</summary>
    public string Directory { get; }

    /// <summary>Number of image slots.</summary>
    public int Count { get; }

    /// <summary>Images served from disk / computed by the teacher since opening.</summary>
    public long Hits { get; private set; }
    /// <summary>Images computed by the teacher (cache misses) since opening.</summary>
    public long Misses { get; private set; }

    /// <summary>
    /// Milliseconds per image the teacher took to fill this cache, over every run that computed entries
    /// (NaN when nothing was ever computed here).
    /// </summary>
    public double MsPerImage => _meta.ComputedImages + Misses > 0 ? (_meta.ComputeMs + _computeMs) / (_meta.ComputedImages + Misses) : double.NaN;

    /// <summary>Slots already filled.</summary>
    public int Filled => _present.Count(p => p == 1);

    /// <summary>
    /// Opens (or creates) the cache of <paramref name="teacher"/> for a dataset of <paramref name="count"/> images.
    /// <paramref name="probe"/> gives one image (1, 3, H, W) to learn the output shapes when the folder is new.
    /// </summary>
    public static TeacherCache Open(string root, ITeacher teacher, string datasetKey, int count, Func<Tensor> probe)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{teacher.Fingerprint}\n{datasetKey}\n{count}")))[..16];
        var dir = Path.Combine(root, $"{teacher.Name}-{key}");
        var metaPath = Path.Combine(dir, "meta.json");
        if (File.Exists(metaPath))
        {
            var meta = ReadMeta(metaPath);
            if (meta.Format == Format && meta.Fingerprint == teacher.Fingerprint && meta.DatasetKey == datasetKey && meta.Count == count)
                return new TeacherCache(teacher, dir, count, meta);
            // stale (a folder left by another setting under the same name): rebuild it
            System.IO.Directory.Delete(dir, recursive: true);
        }
        long[] summaryShape = [], featureShape = [];
        using (var scope = torch.NewDisposeScope())
        {
            var output = teacher.Forward(probe());
            if (output.Summary is not null) summaryShape = output.Summary.shape[1..];
            if (output.Features is not null) featureShape = output.Features.shape[1..];
        }
        System.IO.Directory.CreateDirectory(dir);
        var fresh = new CacheMeta(Format, teacher.Name, teacher.Fingerprint, datasetKey, count, summaryShape, featureShape, "float16");
        AtomicFile.WriteAllText(metaPath, JsonSerializer.Serialize(fresh, MetaJson));
        return new TeacherCache(teacher, dir, count, fresh);
    }

    /// <summary>
    /// Teacher outputs for dataset images <paramref name="indices"/>: cached slots are read, missing ones computed
    /// with the teacher on <paramref name="loadImages"/>(missing indices) and stored.
    /// </summary>
    public TeacherOutput Get(int[] indices, Func<int[], Tensor> loadImages)
    {
        var missing = indices.Where(i => _present[i] == 0).Distinct().ToArray();
        if (missing.Length > 0)
        {
            using var scope = torch.NewDisposeScope();
            var images = loadImages(missing);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var output = _teacher.Forward(images);
            _computeMs += clock.Elapsed.TotalMilliseconds;
            for (int j = 0; j < missing.Length; j++)
                Put(missing[j], output.Summary?[j], output.Features?[j]);
            _index.Flush(flushToDisk: false);
            Misses += missing.Length;
        }
        Hits += indices.Length - missing.Length;
        return Read(indices);
    }

    private void Put(int index, Tensor? summary, Tensor? features)
    {
        var payload = new byte[_recordBytes];
        int offset = 0;
        foreach (var t in new[] { summary, features })
        {
            if (t is null) continue;
            using var half = t.to_type(ScalarType.Float16).contiguous();
            half.bytes.CopyTo(payload.AsSpan(offset));
            offset += (int)(half.numel() * 2);
        }
        _records.Position = index * _recordBytes;
        _records.Write(payload);
        _records.Flush(flushToDisk: false);
        var entry = new byte[IndexEntryBytes];
        entry[0] = 1;
        BitConverter.TryWriteBytes(entry.AsSpan(4), System.IO.Hashing.Crc32.HashToUInt32(payload));
        _index.Position = (long)index * IndexEntryBytes;
        _index.Write(entry);
        _present[index] = 1;
    }

    private TeacherOutput Read(int[] indices)
    {
        int b = indices.Length;
        var summary = _summaryElems > 0 ? torch.empty([b, .. _summaryShape], ScalarType.Float16) : null;
        var features = _featureElems > 0 ? torch.empty([b, .. _featureShape], ScalarType.Float16) : null;
        var payload = new byte[_recordBytes];
        var entry = new byte[IndexEntryBytes];
        for (int j = 0; j < b; j++)
        {
            int i = indices[j];
            _records.Position = i * _recordBytes;
            _records.ReadExactly(payload);
            _index.Position = (long)i * IndexEntryBytes;
            _index.ReadExactly(entry);
            if (BitConverter.ToUInt32(entry, 4) != System.IO.Hashing.Crc32.HashToUInt32(payload))
                throw new InputException($"teacher cache {Directory}: entry for image {i} is corrupt (checksum mismatch); delete the folder to rebuild it");
            if (summary is not null)
            {
                using var row = summary[j];
                payload.AsSpan(0, (int)(2 * _summaryElems)).CopyTo(row.bytes);
            }
            if (features is not null)
            {
                using var row = features[j];
                payload.AsSpan((int)(2 * _summaryElems)).CopyTo(row.bytes);
            }
        }
        return new TeacherOutput(summary?.to_type(ScalarType.Float32), features?.to_type(ScalarType.Float32));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _records.Dispose();
        _index.Dispose();
        if (Misses > 0)
        {
            _meta = _meta with { ComputedImages = _meta.ComputedImages + Misses, ComputeMs = _meta.ComputeMs + _computeMs };
            AtomicFile.WriteAllText(Path.Combine(Directory, "meta.json"), JsonSerializer.Serialize(_meta, MetaJson));
            Misses = 0;
            _computeMs = 0;
        }
    }

    private sealed record CacheMeta(string Format, string Teacher, string Fingerprint, string DatasetKey, int Count,
        long[] SummaryShape, long[] FeatureShape, string DType, long ComputedImages = 0, double ComputeMs = 0);

    private static readonly JsonSerializerOptions MetaJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static CacheMeta ReadMeta(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<CacheMeta>(File.ReadAllText(path), MetaJson)
                ?? throw new InputException($"{path}: empty teacher cache metadata");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{path}: corrupt teacher cache metadata ({ex.Message.Split('.')[0]}); delete the folder to rebuild it");
        }
    }
}
