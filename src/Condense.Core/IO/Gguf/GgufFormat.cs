// GGUF, the file format of llama.cpp (ggml/docs/gguf.md, version 3), little-endian throughout:
//   magic "GGUF", uint32 version, uint64 tensor_count, uint64 metadata_kv_count,
//   metadata: (string key, uint32 value type, value)*,
//   tensor infos: (string name, uint32 n_dims, uint64 ne[n_dims], uint32 ggml type, uint64 offset)*,
//   padding to general.alignment (default 32), then the tensor data, each tensor at its offset (aligned) from the
//   start of the data section. Strings are uint64 length + UTF-8 bytes, arrays uint32 element type + uint64 count.
// ne[0] is the fastest-varying dimension: a PyTorch (out, in) weight is ne = [in, out].
namespace Condense.Core.IO.Gguf;

/// <summary>Constants of the GGUF container.</summary>
public static class GgufFormat
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The version this code writes (and the newest it reads).</summary>
    public const uint Version = 3;

    /// <summary>Alignment of the data section and of every tensor in it, unless general.alignment says otherwise.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>Bytes from <paramref name="position"/> to the next multiple of <paramref name="alignment"/>.</summary>
    public static long Padding(long position, int alignment) => (alignment - position % alignment) % alignment;
}

/// <summary>Metadata value types (gguf_type).</summary>
public enum GgufValueType : uint
{
    /// <summary>uint8.</summary>
    UInt8 = 0,
    /// <summary>int8.</summary>
    Int8 = 1,
    /// <summary>uint16.</summary>
    UInt16 = 2,
    /// <summary>int16.</summary>
    Int16 = 3,
    /// <summary>uint32.</summary>
    UInt32 = 4,
    /// <summary>int32.</summary>
    Int32 = 5,
    /// <summary>float32.</summary>
    Float32 = 6,
    /// <summary>bool, one byte.</summary>
    Bool = 7,
    /// <summary>UTF-8 string.</summary>
    String = 8,
    /// <summary>Array of one element type.</summary>
    Array = 9,
    /// <summary>uint64.</summary>
    UInt64 = 10,
    /// <summary>int64.</summary>
    Int64 = 11,
    /// <summary>float64.</summary>
    Float64 = 12,
}

/// <summary>The tensor types Condense writes and reads (ggml_type values).</summary>
public enum GgmlType : uint
{
    /// <summary>float32.</summary>
    F32 = 0,
    /// <summary>IEEE half.</summary>
    F16 = 1,
    /// <summary>Blocks of 32 int8 values with one f16 scale (34 bytes per block).</summary>
    Q8_0 = 8,
}
