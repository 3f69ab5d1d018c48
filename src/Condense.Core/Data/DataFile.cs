// Reading whole data files with one-line errors. Every reader in this folder goes through here so that a missing
// file, an unreadable file or a corrupt gzip stream all surface as an InputException naming the path.
using System.IO.Compression;

namespace Condense.Core.Data;

internal static class DataFile
{
    /// <summary>The file's bytes, as stored on disk.</summary>
    public static byte[] ReadBytes(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: file not found");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// The file's bytes, gunzipped when they start with the gzip magic 1f 8b. We look at the content, not the
    /// extension: MNIST mirrors ship both "x-ubyte" and "x-ubyte.gz", and renamed copies are common.
    /// </summary>
    public static byte[] ReadMaybeGzip(string path)
    {
        var raw = ReadBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            gz.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new InputException($"{path}: corrupt gzip stream ({ex.Message})", ex);
        }
    }
}
