// Reads and strictly validates a safetensors header: the 8-byte length, the JSON, and the byte layout it claims.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Condense.Core.Checkpoints;

/// <summary>
/// Turns the first 8 + N bytes of a safetensors file into a <see cref="SafetensorsHeader"/>, or throws an
/// <see cref="InputException"/> that names the file and the problem. Follows the reference implementation's
/// rules: the tensors must tile the data section exactly (no overlap, no hole, no trailing bytes).
/// The header is only ever parsed as data; nothing in the file is executed.
/// </summary>
internal static class SafetensorsHeaderReader
{
    public const string MetadataKey = "__metadata__";

    /// <summary>Headers larger than this are refused before reading them (the reference uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 =
        new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the header from the start of the stream, leaving it positioned at the data.</summary>
    public static SafetensorsHeader Read(Stream stream, string file)
    {
        var fileLength = stream.Length;
        if (fileLength < 8) throw Bad(file, $"file is {fileLength} bytes, shorter than the 8-byte header length");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw Bad(file, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)headerLength > fileLength - 8)
            throw Bad(file, $"header length {headerLength} runs past the end of the {fileLength}-byte file");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + (long)headerLength;
        var header = Parse(headerBytes, file, dataStart);
        CheckLayout(header, fileLength - dataStart, file);
        return header;
    }

    private static SafetensorsHeader Parse(byte[] headerBytes, string file, long dataStart)
    {
        string json;
        try { json = StrictUtf8.GetString(headerBytes); }
        catch (DecoderFallbackException ex) { throw Bad(file, "header is not valid UTF-8", ex); }

        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException ex) { throw Bad(file, $"header is not valid JSON ({FirstLine(ex.Message)})", ex); }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad(file, $"header is a JSON {Kind(root.ValueKind)}, expected an object");

            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in UniqueProperties(root, file, "header"))
            {
                if (entry.Name == MetadataKey) ReadMetadata(entry.Value, file, metadata);
                else tensors.Add(ReadTensor(entry.Name, entry.Value, file));
            }
            // Data order; ties (zero-size tensors) by name so the order is deterministic.
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
                : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
            return new SafetensorsHeader(tensors, metadata, dataStart);
        }
    }

    private static void ReadMetadata(JsonElement value, string file, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(file, $"{MetadataKey} is a JSON {Kind(value.ValueKind)}, expected an object of strings");
        foreach (var item in UniqueProperties(value, file, MetadataKey))
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Bad(file, $"{MetadataKey} value '{item.Name}' is a JSON {Kind(item.Value.ValueKind)}, " +
                    "expected a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(file, $"tensor '{name}' is a JSON {Kind(value.ValueKind)}, expected an object");

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        // Unknown fields are ignored, as in the reference reader.
        foreach (var field in UniqueProperties(value, file, $"tensor '{name}'"))
        {
            switch (field.Name)
            {
                case "dtype": dtypeElement = field.Value; break;
                case "shape": shapeElement = field.Value; break;
                case "data_offsets": offsetsElement = field.Value; break;
            }
        }
        if (dtypeElement is not { } dtypeJson) throw Bad(file, $"tensor '{name}' has no dtype");
        if (shapeElement is not { } shapeJson) throw Bad(file, $"tensor '{name}' has no shape");
        if (offsetsElement is not { } offsetsJson) throw Bad(file, $"tensor '{name}' has no data_offsets");

        if (dtypeJson.ValueKind != JsonValueKind.String)
            throw Bad(file, $"tensor '{name}' dtype is a JSON {Kind(dtypeJson.ValueKind)}, expected a string");
        var dtypeName = dtypeJson.GetString()!;
        var dtype = SafetensorsDType.FromName(dtypeName)
            ?? throw Bad(file, $"tensor '{name}' has unknown dtype '{dtypeName}'");

        var shape = ReadIntegers(shapeJson, file, name, "shape");
        if (shape.Any(d => d < 0)) throw Bad(file, $"tensor '{name}' has a negative dimension in shape {Show(shape)}");

        var offsets = ReadIntegers(offsetsJson, file, name, "data_offsets");
        if (offsets.Length != 2)
            throw Bad(file, $"tensor '{name}' data_offsets has {offsets.Length} entries, expected 2");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin)
            throw Bad(file, $"tensor '{name}' has invalid data_offsets [{begin}, {end}]");

        long expectedBytes;
        try { expectedBytes = checked(shape.Aggregate(1L, (n, d) => checked(n * d)) * dtype.ItemSize); }
        catch (OverflowException ex) { throw Bad(file, $"tensor '{name}' shape {Show(shape)} is too large", ex); }
        if (end - begin != expectedBytes)
            throw Bad(file, $"tensor '{name}' data_offsets [{begin}, {end}] span {end - begin} bytes, " +
                $"but {dtypeName} {Show(shape)} needs {expectedBytes}");

        return new SafetensorsTensorInfo(name, dtypeName, shape, begin, end);
    }

    private static long[] ReadIntegers(JsonElement value, string file, string tensor, string field)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Bad(file, $"tensor '{tensor}' {field} is a JSON {Kind(value.ValueKind)}, " +
                "expected an array of integers");
        var result = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i++]))
                throw Bad(file, $"tensor '{tensor}' {field} holds {item.GetRawText()}, expected integers");
        }
        return result;
    }

    /// <summary>The tensors must cover the data section exactly once, as the reference reader requires.</summary>
    private static void CheckLayout(SafetensorsHeader header, long dataBytes, string file)
    {
        long covered = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (var tensor in header.Tensors)
        {
            if (tensor.End > dataBytes)
                throw Bad(file, $"tensor '{tensor.Name}' data_offsets [{tensor.Begin}, {tensor.End}] lie outside " +
                    $"the {dataBytes}-byte data section");
            if (tensor.Begin < covered)
                throw Bad(file, $"tensor '{tensor.Name}' overlaps tensor '{previous!.Name}' " +
                    $"(bytes {tensor.Begin}..{covered})");
            if (tensor.Begin > covered)
                throw Bad(file,
                    $"data bytes {covered}..{tensor.Begin} belong to no tensor (hole before '{tensor.Name}')");
            covered = tensor.End;
            previous = tensor;
        }
        if (covered != dataBytes)
            throw Bad(file, $"data bytes {covered}..{dataBytes} belong to no tensor (trailing bytes)");
    }

    /// <summary>An object's properties; a repeated key is an error (JSON parsers would silently keep one).</summary>
    private static List<JsonProperty> UniqueProperties(JsonElement obj, string file, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var properties = new List<JsonProperty>();
        foreach (var property in obj.EnumerateObject())
        {
            if (!seen.Add(property.Name)) throw Bad(file, $"duplicate key '{property.Name}' in {where}");
            properties.Add(property);
        }
        return properties;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string Show(long[] shape) => $"[{string.Join(", ", shape)}]";

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static InputException Bad(string file, string problem, Exception? inner = null) =>
        inner is null
            ? new($"{file}: invalid safetensors file: {problem}")
            : new($"{file}: invalid safetensors file: {problem}", inner);
}
