// Builds a GGUF file in memory (metadata in insertion order, tensors with their encoded bytes) and writes it in one
// pass, atomically when given a path.
using System.Text;

namespace Condense.Core.IO.Gguf;

/// <summary>A GGUF file under construction.</summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValue Value)> metadata = [];
    private readonly List<GgufTensorData> tensors = [];

    /// <summary>Adds (or replaces) a metadata key.</summary>
    public void Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        metadata.RemoveAll(m => m.Key == key);
        metadata.Add((key, value));
    }

    /// <summary>Adds a tensor: <paramref name="ne"/> with the fastest-varying dimension first, data already encoded.</summary>
    public void AddTensor(string name, IReadOnlyList<long> ne, GgmlType type, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor {name} is added twice", nameof(name));
        long count = ne.Aggregate(1L, (a, b) => a * b);
        if (ne.Count is < 1 or > 4 || ne.Any(n => n < 1)) throw new ArgumentException($"tensor {name}: dims [{string.Join(", ", ne)}] must be 1 to 4 positive sizes", nameof(ne));
        if (data.Length != GgmlQuantization.ByteCount(type, count))
            throw new ArgumentException($"tensor {name}: {type} [{string.Join(", ", ne)}] needs {GgmlQuantization.ByteCount(type, count)} bytes, got {data.Length}", nameof(data));
        tensors.Add(new GgufTensorData(name, ne.ToArray(), type, data));
    }

    /// <summary>Tensors added so far.</summary>
    public IReadOnlyList<GgufTensorData> Tensors => tensors;

    /// <summary>Writes the file to <paramref name="path"/> through a temp file and a rename.</summary>
    public void Save(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        int alignment = GgufFormat.DefaultAlignment;
        if (metadata.FirstOrDefault(m => m.Key == "general.alignment").Value is { } a)
            alignment = checked((int)Convert.ToUInt64(a.Value, System.Globalization.CultureInfo.InvariantCulture));
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFormat.Magic);
        w.Write(GgufFormat.Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value.Type, value.Value, value.ElementType);
        }
        long offset = 0;
        foreach (var t in tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Ne.Length);
            foreach (var n in t.Ne) w.Write((ulong)n);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset += t.Data.Length + GgufFormat.Padding(t.Data.Length, alignment);
        }
        w.Flush();
        WriteZeros(stream, GgufFormat.Padding(stream.Position, alignment));
        foreach (var t in tensors)
        {
            stream.Write(t.Data);
            WriteZeros(stream, GgufFormat.Padding(t.Data.Length, alignment));
        }
    }

    private static void WriteZeros(Stream stream, long count)
    {
        for (long i = 0; i < count; i++) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value, GgufValueType? elementType)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        switch (type)
        {
            case GgufValueType.UInt8: w.Write(Convert.ToByte(value, inv)); break;
            case GgufValueType.Int8: w.Write(Convert.ToSByte(value, inv)); break;
            case GgufValueType.UInt16: w.Write(Convert.ToUInt16(value, inv)); break;
            case GgufValueType.Int16: w.Write(Convert.ToInt16(value, inv)); break;
            case GgufValueType.UInt32: w.Write(Convert.ToUInt32(value, inv)); break;
            case GgufValueType.Int32: w.Write(Convert.ToInt32(value, inv)); break;
            case GgufValueType.UInt64: w.Write(Convert.ToUInt64(value, inv)); break;
            case GgufValueType.Int64: w.Write(Convert.ToInt64(value, inv)); break;
            case GgufValueType.Float32: w.Write(Convert.ToSingle(value, inv)); break;
            case GgufValueType.Float64: w.Write(Convert.ToDouble(value, inv)); break;
            case GgufValueType.Bool: w.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.Array:
                var array = (Array)value;
                var element = elementType ?? throw new ArgumentException("an array value needs its element type");
                if (element == GgufValueType.Array) throw new ArgumentException("nested arrays are not written");
                w.Write((uint)element);
                w.Write((ulong)array.Length);
                foreach (var item in array) WriteValue(w, element, item!, null);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGUF value type");
        }
    }
}

/// <summary>A tensor to write: name, dims (fastest first), type and encoded bytes.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Ne">Dims, ne[0] fastest.</param>
/// <param name="Type">Encoding.</param>
/// <param name="Data">Encoded bytes.</param>
public sealed record GgufTensorData(string Name, long[] Ne, GgmlType Type, byte[] Data);
