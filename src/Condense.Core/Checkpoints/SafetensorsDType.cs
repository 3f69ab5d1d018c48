// The safetensors dtype names, their byte sizes, and the TorchSharp scalar type each one maps to.
using TorchSharp;

namespace Condense.Core.Checkpoints;

/// <summary>
/// One row per dtype name the safetensors format defines. The header is validated against every format dtype
/// (so <see cref="Safetensors.ReadHeader"/> can list an FP8 checkpoint), but only rows with a
/// <see cref="ScalarType"/> can become tensors.
/// </summary>
internal sealed record SafetensorsDType(string Name, int ItemSize, torch.ScalarType? ScalarType)
{
    private static readonly SafetensorsDType[] All =
    [
        new("F64", 8, torch.ScalarType.Float64),
        new("F32", 4, torch.ScalarType.Float32),
        new("F16", 2, torch.ScalarType.Float16),
        new("BF16", 2, torch.ScalarType.BFloat16),
        new("I64", 8, torch.ScalarType.Int64),
        new("I32", 4, torch.ScalarType.Int32),
        new("I16", 2, torch.ScalarType.Int16),
        new("I8", 1, torch.ScalarType.Int8),
        new("U8", 1, torch.ScalarType.Byte),
        new("BOOL", 1, torch.ScalarType.Bool),
        // In the format but with no TorchSharp 0.107 tensor type: readable in headers, rejected by Load.
        new("U64", 8, null),
        new("U32", 4, null),
        new("U16", 2, null),
        new("F8_E4M3", 1, null),
        new("F8_E5M2", 1, null),
    ];

    private static readonly Dictionary<string, SafetensorsDType> ByName =
        All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static readonly Dictionary<torch.ScalarType, SafetensorsDType> ByScalarType =
        All.Where(d => d.ScalarType is not null).ToDictionary(d => d.ScalarType!.Value);

    /// <summary>The row for a header's dtype string (case-sensitive, as the format specifies), or null.</summary>
    public static SafetensorsDType? FromName(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The row for a tensor's scalar type, or null when safetensors has no name for it.</summary>
    public static SafetensorsDType? FromScalarType(torch.ScalarType type) => ByScalarType.GetValueOrDefault(type);
}
