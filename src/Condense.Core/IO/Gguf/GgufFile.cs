// Reads a GGUF file's header, metadata and tensor table (data is read on demand), validating every count, length
// and offset against the file's size, so a truncated or corrupt file is a one-line InputException naming it.
using System.Text;

namespace Condense.Core.IO.Gguf;

/// <summary>A tensor's entry in the table: name, dims (ne[0] fastest), type and byte range in the file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Ne">Dims, fastest first.</param>
/// <param name="Type">Encoding.</param>
/// <param name="Offset">Absolute file offset of its first byte.</param>
/// <param name="Bytes">Encoded size.</param>
public sealed record GgufTensorInfo(string Name, long[] Ne, GgmlType Type, long Offset, long Bytes)
{
    /// <summary>Number of values.</summary>
    public long Count => Ne.Aggregate(1L, (a, b) => a * b);
}

/// <summary>A GGUF file as read from disk.</summary>
public sealed class GgufFile
{
    private const long MaxEntries = 1 << 24;

    private GgufFile(string path, uint version, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensorInfo> tensors, long dataOffset, int alignment)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        DataOffset = dataOffset;
        Alignment = alignment;
    }

    /// <summary>Where it was read from.</summary>
    public string Path { get; }

    /// <summary>Format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }

    /// <summary>The tensor table in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Absolute offset of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>Data alignment.</summary>
    public int Alignment { get; }

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Get(string key) => Metadata.FirstOrDefault(m => m.Key == key).Value;

    /// <summary>The value of <paramref name="key"/>, or an <see cref="InputException"/> naming the file and key.</summary>
    public GgufValue Require(string key) => Get(key) ?? throw new InputException($"{Path}: metadata key {key} is missing");

    /// <summary>Whether the file starts with the GGUF magic.</summary>
    public static bool HasMagic(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return stream.Read(head) == 4 && BitConverter.ToUInt32(head) == GgufFormat.Magic;
    }

    /// <summary>Reads the header, metadata and tensor table of <paramref name="path"/>.</summary>
    public static GgufFile Read(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: GGUF file not found");
        using var stream = File.OpenRead(path);
        long size = stream.Length;
        var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (size < 24 || r.ReadUInt32() != GgufFormat.Magic) throw new InputException($"{path}: not a GGUF file (no GGUF magic)");
            uint version = r.ReadUInt32();
            if (version is < 2 or > GgufFormat.Version)
                throw new InputException($"{path}: GGUF version {version} is not supported (2 or 3 are read)");
            long tensorCount = Count(r.ReadUInt64(), "tensor_count", path), kvCount = Count(r.ReadUInt64(), "metadata_kv_count", path);
            var metadata = new List<KeyValuePair<string, GgufValue>>();
            for (long i = 0; i < kvCount; i++)
            {
                var key = ReadString(r, size, path);
                var type = (GgufValueType)r.ReadUInt32();
                metadata.Add(new(key, ReadValue(r, type, size, path, key)));
            }
            int alignment = GgufFormat.DefaultAlignment;
            if (metadata.FirstOrDefault(m => m.Key == "general.alignment").Value is { } a)
            {
                ulong value = Convert.ToUInt64(a.Value, System.Globalization.CultureInfo.InvariantCulture);
                if (value is 0 or > 1 << 20 || (value & (value - 1)) != 0) throw new InputException($"{path}: general.alignment {value} is not a power of two");
                alignment = (int)value;
            }
            var raw = new List<(string Name, long[] Ne, GgmlType Type, ulong Offset)>();
            for (long i = 0; i < tensorCount; i++)
            {
                var name = ReadString(r, size, path);
                uint dims = r.ReadUInt32();
                if (dims is < 1 or > 4) throw new InputException($"{path}: tensor {name} has {dims} dimensions (1 to 4 allowed)");
                var ne = new long[dims];
                for (int d = 0; d < dims; d++)
                {
                    ulong n = r.ReadUInt64();
                    if (n is 0 or > 1UL << 40) throw new InputException($"{path}: tensor {name} has dimension {d} of size {n}");
                    ne[d] = (long)n;
                }
                var type = (GgmlType)r.ReadUInt32();
                if (!Enum.IsDefined(type)) throw new InputException($"{path}: tensor {name} has ggml type {(uint)type}, which Condense does not read (f32, f16, q8_0)");
                raw.Add((name, ne, type, r.ReadUInt64()));
            }
            long dataOffset = stream.Position + GgufFormat.Padding(stream.Position, alignment);
            var tensors = new List<GgufTensorInfo>();
            foreach (var (name, ne, type, offset) in raw)
            {
                long count = ne.Aggregate(1L, (x, y) => checked(x * y));
                if (!GgmlQuantization.Supports(type, ne[0])) throw new InputException($"{path}: tensor {name} is {type} with rows of {ne[0]} values (not a multiple of the block)");
                long bytes = GgmlQuantization.ByteCount(type, count);
                if (offset % (ulong)alignment != 0) throw new InputException($"{path}: tensor {name} offset {offset} is not aligned to {alignment}");
                if (offset > (ulong)size || dataOffset + (long)offset + bytes > size)
                    throw new InputException($"{path}: truncated: tensor {name} needs bytes up to {dataOffset + (long)offset + bytes}, the file has {size}");
                tensors.Add(new GgufTensorInfo(name, ne, type, dataOffset + (long)offset, bytes));
            }
            return new GgufFile(path, version, metadata, tensors, dataOffset, alignment);
        }
        catch (EndOfStreamException)
        {
            throw new InputException($"{path}: truncated GGUF header ({size} bytes)");
        }
        catch (OverflowException)
        {
            throw new InputException($"{path}: corrupt GGUF tensor table (sizes overflow)");
        }
    }

    /// <summary>The tensor called <paramref name="name"/>, decoded to float32 (ne[0] fastest).</summary>
    public float[] ReadTensor(string name)
    {
        var info = Tensors.FirstOrDefault(t => t.Name == name) ?? throw new InputException($"{Path}: no tensor {name}");
        var bytes = new byte[info.Bytes];
        using var stream = File.OpenRead(Path);
        stream.Seek(info.Offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return GgmlQuantization.Decode(bytes, info.Type, info.Count);
    }

    private static long Count(ulong value, string field, string path) =>
        value > MaxEntries ? throw new InputException($"{path}: {field} {value} is not plausible (corrupt header)") : (long)value;

    private static string ReadString(BinaryReader r, long size, string path)
    {
        ulong length = r.ReadUInt64();
        if (length > (ulong)(size - r.BaseStream.Position)) throw new InputException($"{path}: a string of {length} bytes runs past the end of the file (truncated or corrupt)");
        var bytes = r.ReadBytes((int)length);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InputException($"{path}: a string at byte {r.BaseStream.Position - (long)length} is not valid UTF-8");
        }
    }

    private static GgufValue ReadValue(BinaryReader r, GgufValueType type, long size, string path, string key)
    {
        object Scalar(GgufValueType t) => t switch
        {
            GgufValueType.UInt8 => (ulong)r.ReadByte(),
            GgufValueType.Int8 => (long)r.ReadSByte(),
            GgufValueType.UInt16 => (ulong)r.ReadUInt16(),
            GgufValueType.Int16 => (long)r.ReadInt16(),
            GgufValueType.UInt32 => (ulong)r.ReadUInt32(),
            GgufValueType.Int32 => (long)r.ReadInt32(),
            GgufValueType.UInt64 => r.ReadUInt64(),
            GgufValueType.Int64 => r.ReadInt64(),
            GgufValueType.Float32 => (double)r.ReadSingle(),
            GgufValueType.Float64 => r.ReadDouble(),
            GgufValueType.Bool => r.ReadByte() != 0,
            GgufValueType.String => ReadString(r, size, path),
            _ => throw new InputException($"{path}: metadata key {key} has value type {(uint)t}, which is not a GGUF type"),
        };
        if (type != GgufValueType.Array) return new GgufValue(type, Scalar(type));
        var element = (GgufValueType)r.ReadUInt32();
        ulong count = r.ReadUInt64();
        if (element == GgufValueType.Array || count > (ulong)(size - r.BaseStream.Position))
            throw new InputException($"{path}: metadata key {key} holds an array of {count} {element} values that cannot fit the file (corrupt)");
        var items = new object[count];
        for (ulong i = 0; i < count; i++) items[i] = Scalar(element);
        Array typed = element switch
        {
            GgufValueType.String => items.Cast<string>().ToArray(),
            GgufValueType.Float32 or GgufValueType.Float64 => items.Cast<double>().ToArray(),
            GgufValueType.Bool => items.Cast<bool>().ToArray(),
            GgufValueType.UInt8 or GgufValueType.UInt16 or GgufValueType.UInt32 or GgufValueType.UInt64 => items.Cast<ulong>().ToArray(),
            _ => items.Cast<long>().ToArray(),
        };
        return new GgufValue(type, typed, element);
    }
}
