// What a safetensors header says: each tensor's dtype, shape and byte range, plus the string metadata.
namespace Condense.Core.Checkpoints;

/// <summary>
/// One tensor entry of a safetensors header. <see cref="Begin"/> and <see cref="End"/> are byte offsets relative
/// to the start of the data section (<see cref="SafetensorsHeader.DataStart"/>), end exclusive.
/// </summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">The safetensors dtype name, e.g. <c>F32</c> or <c>BF16</c>.</param>
/// <param name="Shape">The tensor's shape ([] for a scalar).</param>
/// <param name="Begin">Offset of the first data byte, from the start of the data section.</param>
/// <param name="End">Offset just past the last data byte, from the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar, shape []).</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>Number of data bytes.</summary>
    public long ByteCount => End - Begin;
}

/// <summary>
/// A validated safetensors header. <see cref="Tensors"/> is in data order (ascending offsets);
/// <see cref="DataStart"/> is the absolute file offset of the data section (8 + header length).
/// </summary>
/// <param name="Tensors">The tensor entries, in ascending offset order.</param>
/// <param name="Metadata">The <c>__metadata__</c> strings (empty when the header has none).</param>
/// <param name="DataStart">Absolute file offset of the data section: 8 + header length.</param>
public sealed record SafetensorsHeader(
    IReadOnlyList<SafetensorsTensorInfo> Tensors,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart);
