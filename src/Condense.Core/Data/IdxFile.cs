// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
// 00 00 <type> <ndim>, then ndim big-endian int32 sizes, then the data row-major. We read the two variants the
// datasets use: type 0x08 (u8) with 3 dims for images, 1 dim for labels. The file may be gzipped or not.
using System.Buffers.Binary;

namespace Condense.Core.Data;

/// <summary>Readers for the IDX files of MNIST and Fashion-MNIST (gzipped or not).</summary>
public static class IdxFile
{
    /// <summary>The magic of an idx3-ubyte image file: u8 data, 3 dimensions.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>The magic of an idx1-ubyte label file: u8 data, 1 dimension.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an idx3-ubyte file as N single-channel H x W images.</summary>
    public static ImageSet ReadImages(string path)
    {
        var (dims, data) = Read(path, ImagesMagic);
        return new ImageSet(dims[0], 1, dims[1], dims[2], data.ToArray());
    }

    /// <summary>Reads an idx1-ubyte file as int64 labels.</summary>
    public static long[] ReadLabels(string path)
    {
        var (_, data) = Read(path, LabelsMagic);
        var bytes = data.Span;
        var labels = new long[bytes.Length];
        for (var i = 0; i < labels.Length; i++) labels[i] = bytes[i];
        return labels;
    }

    // Validates magic, dims and exact data length; returns the dims and the payload after the header.
    private static (int[] Dims, ReadOnlyMemory<byte> Data) Read(string path, int expectedMagic)
    {
        var bytes = DataFile.ReadMaybeGzip(path);
        if (bytes.Length < 4) throw new InputException($"{path}: truncated IDX file ({bytes.Length} bytes, no header)");
        var magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic != expectedMagic)
            throw new InputException($"{path}: bad IDX magic 0x{magic:x8}, expected 0x{expectedMagic:x8}");
        var ndim = expectedMagic & 0xff;
        var header = 4 + 4 * ndim;
        if (bytes.Length < header)
            throw new InputException($"{path}: truncated IDX header ({bytes.Length} bytes, need {header})");
        var dims = new int[ndim];
        long expected = 1;
        for (var d = 0; d < ndim; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            // A zero count is a valid (empty) file; a zero height or width is not an image.
            if (dims[d] < 0 || (d > 0 && dims[d] == 0))
                throw new InputException($"{path}: bad IDX dimension {d} = {dims[d]}");
            expected *= dims[d];
        }
        var actual = bytes.LongLength - header;
        if (actual != expected)
            throw new InputException(
                $"{path}: IDX data is {actual} bytes, header {string.Join('x', dims)} needs {expected}" +
                (actual < expected ? " (truncated)" : " (trailing bytes)"));
        return (dims, bytes.AsMemory(header));
    }
}
