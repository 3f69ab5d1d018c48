// Tensor encodings of ggml that Condense writes: f32, f16 and q8_0, with the reference rounding of ggml-quants.c
// (quantize_row_q8_0_ref: d = max|x| / 127, q = round-half-away(x / d), d stored as f16), and their inverses.
using System.Buffers.Binary;

namespace Condense.Core.IO.Gguf;

/// <summary>Encodes float32 rows as ggml tensor bytes and decodes them back.</summary>
public static class GgmlQuantization
{
    /// <summary>Values per q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes per q8_0 block: the f16 scale and 32 int8 values.</summary>
    public const int Q8BlockBytes = 2 + Q8BlockSize;

    /// <summary>Whether a tensor whose rows hold <paramref name="rowLength"/> values can be stored as <paramref name="type"/>.</summary>
    public static bool Supports(GgmlType type, long rowLength) => type != GgmlType.Q8_0 || rowLength % Q8BlockSize == 0;

    /// <summary>Bytes of <paramref name="count"/> values stored as <paramref name="type"/> (count a multiple of the block for q8_0).</summary>
    public static long ByteCount(GgmlType type, long count) => type switch
    {
        GgmlType.F32 => count * 4,
        GgmlType.F16 => count * 2,
        GgmlType.Q8_0 => count % Q8BlockSize == 0 ? count / Q8BlockSize * Q8BlockBytes
            : throw new ArgumentException($"q8_0 needs a multiple of {Q8BlockSize} values, got {count}", nameof(count)),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    /// <summary><paramref name="values"/> encoded as <paramref name="type"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, GgmlType type)
    {
        var bytes = new byte[ByteCount(type, values.Length)];
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)values[i]);
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < values.Length / Q8BlockSize; b++)
                    EncodeQ8Block(values.Slice(b * Q8BlockSize, Q8BlockSize), bytes.AsSpan(b * Q8BlockBytes, Q8BlockBytes));
                break;
        }
        return bytes;
    }

    /// <summary>The float32 values of <paramref name="count"/> elements stored as <paramref name="type"/>.</summary>
    public static float[] Decode(ReadOnlySpan<byte> bytes, GgmlType type, long count)
    {
        if (bytes.Length != ByteCount(type, count))
            throw new ArgumentException($"{type} data of {count} values needs {ByteCount(type, count)} bytes, got {bytes.Length}", nameof(bytes));
        var values = new float[count];
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < values.Length / Q8BlockSize; b++)
                {
                    var block = bytes.Slice(b * Q8BlockBytes, Q8BlockBytes);
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (int j = 0; j < Q8BlockSize; j++) values[b * Q8BlockSize + j] = d * (sbyte)block[2 + j];
                }
                break;
        }
        return values;
    }

    private static void EncodeQ8Block(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        foreach (var v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int j = 0; j < Q8BlockSize; j++)
            block[2 + j] = unchecked((byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
    }
}
