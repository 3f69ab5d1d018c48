// Our own reader and writer for the safetensors format: 8-byte little-endian header length, JSON header, raw data.
using System.Buffers.Binary;
using System.Text.Json;
using Condense.Core.IO;
using TorchSharp;

namespace Condense.Core.Checkpoints;

/// <summary>
/// Saves and loads safetensors files (https://github.com/huggingface/safetensors): a u64 little-endian header
/// length N, N bytes of UTF-8 JSON mapping tensor names to dtype, shape and data offsets (plus an optional
/// <c>__metadata__</c> object of strings), then the tensors' raw little-endian bytes, back to back.
/// Writes are atomic; reads validate everything before allocating tensors.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, any layout: copied to contiguous CPU, each in its own dtype)
    /// sorted by name, with contiguous data offsets, and <paramref name="metadata"/> as <c>__metadata__</c>.
    /// </summary>
    /// <param name="checksum">Also store the SHA-256 of the data section as metadata <c>data_sha256</c> (one more
    /// pass over the tensors); <see cref="Load"/> verifies it whenever it is present.</param>
    public static void Save(string path, IReadOnlyDictionary<string, torch.Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, bool checksum = false)
    {
        RequireLittleEndian();
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        if (checksum)
        {
            using var hash = new HashStream();
            foreach (var (_, tensor) in entries)
            {
                using var scope = torch.NewDisposeScope();
                TensorBytes.WriteFrom(hash, tensor.detach().cpu().contiguous());
            }
            metadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [ChecksumKey] = hash.HexDigest() };
        }
        var header = BuildHeader(entries, metadata, path);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
            stream.Write(lengthBytes);
            stream.Write(header);
            foreach (var (_, tensor) in entries)
            {
                // The scope frees the detached CPU copy; the caller's tensor is untouched.
                using var scope = torch.NewDisposeScope();
                TensorBytes.WriteFrom(stream, tensor.detach().cpu().contiguous());
            }
        });
    }

    /// <summary>
    /// Reads and validates a whole file. The tensors are new CPU tensors created in the caller's current
    /// DisposeScope (or in none); disposing the result frees them.
    /// </summary>
    public static SafetensorsContent Load(string path)
    {
        RequireLittleEndian();
        using var stream = OpenRead(path);
        var header = SafetensorsHeaderReader.Read(stream, path);
        VerifyChecksum(stream, header, path);

        foreach (var info in header.Tensors)
        {
            if (SafetensorsDType.FromName(info.DType)!.ScalarType is null)
                throw new InputException(
                    $"{path}: tensor '{info.Name}' has dtype {info.DType}, which TorchSharp cannot hold");
        }

        var tensors = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            // Tensors come in data order and tile the data section, so this reads the file front to back.
            foreach (var info in header.Tensors)
            {
                var dtype = SafetensorsDType.FromName(info.DType)!.ScalarType!.Value;
                var tensor = torch.empty(info.Shape, dtype);
                tensors[info.Name] = tensor;
                stream.Position = header.DataStart + info.Begin;
                TensorBytes.ReadInto(stream, tensor);
            }
        }
        catch
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
            throw;
        }
        return new SafetensorsContent(tensors, header.Metadata);
    }

    /// <summary>Metadata key of the data section's SHA-256 (lowercase hex), written by <c>Save(..., checksum: true)</c>.</summary>
    public const string ChecksumKey = "data_sha256";

    // A file that carries a checksum must match it: a flipped byte inside a tensor is otherwise undetectable.
    private static void VerifyChecksum(Stream stream, SafetensorsHeader header, string path)
    {
        if (!header.Metadata.TryGetValue(ChecksumKey, out var expected)) return;
        stream.Position = header.DataStart;
        using var hash = new HashStream();
        stream.CopyTo(hash, 1 << 20);
        var actual = hash.HexDigest();
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InputException($"{path}: checksum mismatch (data_sha256 {expected[..Math.Min(12, expected.Length)]}..., file has {actual[..12]}...): the file is corrupt");
    }

    /// <summary>Reads and validates the header only; no tensor data is read.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return SafetensorsHeaderReader.Read(stream, path);
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, torch.Tensor>> entries,
        IReadOnlyDictionary<string, string>? metadata, string path)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject(SafetensorsHeaderReader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in entries)
            {
                if (name == SafetensorsHeaderReader.MetadataKey)
                    throw new InputException($"{path}: cannot save a tensor named '{name}', the name is reserved");
                var dtype = SafetensorsDType.FromScalarType(tensor.dtype)
                    ?? throw new InputException($"{path}: cannot save tensor '{name}': dtype {tensor.dtype} " +
                        "has no safetensors equivalent");
                var bytes = tensor.numel() * dtype.ItemSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Name);
                json.WriteStartArray("shape");
                foreach (var dim in tensor.shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned, as the reference writer does.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException($"{path}: safetensors file not found", ex);
        }
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors I/O needs a little-endian host");
    }
}
