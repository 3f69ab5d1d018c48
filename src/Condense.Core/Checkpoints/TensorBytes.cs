// Moves a contiguous CPU tensor's raw bytes to or from a stream in bulk, a bounded chunk at a time.
using TorchSharp;

namespace Condense.Core.Checkpoints;

/// <summary>
/// Bulk byte copies between streams and tensor storage. <see cref="torch.Tensor.bytes"/> is a span over the
/// tensor's own memory, so the stream reads straight into it (no per-element loop, no extra copy). Spans are
/// int-sized, so large tensors go through flat narrowed views of at most <c>chunkBytes</c> each.
/// Bytes are the host's order; safetensors is little-endian, which <see cref="Safetensors"/> checks up front.
/// </summary>
internal static class TensorBytes
{
    public const long DefaultChunkBytes = 1L << 26;

    /// <summary>Fills <paramref name="tensor"/> (contiguous, CPU) with exactly its byte size from the stream.</summary>
    public static void ReadInto(Stream stream, torch.Tensor tensor, long chunkBytes = DefaultChunkBytes)
    {
        foreach (var part in Chunks(tensor, chunkBytes))
        {
            using (part) stream.ReadExactly(part.bytes);
        }
    }

    /// <summary>Writes the raw bytes of <paramref name="tensor"/> (contiguous, CPU) to the stream.</summary>
    public static void WriteFrom(Stream stream, torch.Tensor tensor, long chunkBytes = DefaultChunkBytes)
    {
        foreach (var part in Chunks(tensor, chunkBytes))
        {
            using (part) stream.Write(part.bytes);
        }
    }

    /// <summary>Flat views covering the tensor in order; the caller disposes each.</summary>
    private static IEnumerable<torch.Tensor> Chunks(torch.Tensor tensor, long chunkBytes)
    {
        if (!tensor.is_contiguous() || tensor.device_type != DeviceType.CPU)
            throw new ArgumentException("tensor must be contiguous and on the CPU", nameof(tensor));
        var count = tensor.numel();
        if (count == 0) yield break;
        var perChunk = Math.Max(1, chunkBytes / tensor.ElementSize);
        using var flat = tensor.view(-1);
        for (long start = 0; start < count; start += perChunk)
            yield return flat.narrow(0, start, Math.Min(perChunk, count - start));
    }
}
