// NIfTI-1 volumes (.nii and gzipped .nii.gz): the format of the Colin27 T1 and the AAL atlas in `mricron-data`.
// Only what 3-D scalar volumes need: the 348-byte header, dims, datatype, scaling, spacing and the sform (or qform
// offsets) that maps voxel indices to millimetres. Header fields by the NIfTI-1 standard (nifti1.h).
using System.Buffers.Binary;
using System.IO.Compression;
using Condense.Core;

namespace Condense.Experts.Volumes;

/// <summary>A 3-D scalar volume: voxel (i, j, k) is <c>Data[i + Nx·(j + Ny·k)]</c> (NIfTI's x-fastest order).</summary>
/// <param name="Nx">Voxels along i.</param>
/// <param name="Ny">Voxels along j.</param>
/// <param name="Nz">Voxels along k.</param>
/// <param name="Data">Values after the file's slope and intercept.</param>
/// <param name="Spacing">Millimetres per voxel along i, j, k.</param>
/// <param name="Affine">Row-major 3×4 voxel-to-millimetre map (sform; from the qform offsets and spacing when the
/// file has no sform).</param>
public sealed record NiftiVolume(int Nx, int Ny, int Nz, float[] Data, (double X, double Y, double Z) Spacing, double[] Affine)
{
    /// <summary>The value at voxel (i, j, k); no bounds check beyond the array's.</summary>
    public float At(int i, int j, int k) => Data[i + Nx * (j + Ny * k)];

    /// <summary>Whether (i, j, k) lies inside the volume.</summary>
    public bool Contains(int i, int j, int k) => i >= 0 && j >= 0 && k >= 0 && i < Nx && j < Ny && k < Nz;

    /// <summary>Millimetre x (right positive in RAS space) of voxel index i along the first axis (no rotation assumed).</summary>
    public double XMillimetres(int i, int j = 0, int k = 0) => Affine[0] * i + Affine[1] * j + Affine[2] * k + Affine[3];

    /// <summary>Reads a .nii or .nii.gz file; a bad file gets an <see cref="InputException"/> naming the file and field.</summary>
    public static NiftiVolume Read(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: NIfTI file not found");
        byte[] bytes;
        try
        {
            using var file = File.OpenRead(path);
            Stream stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            bytes = memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InputException($"{path}: not a valid gzip stream ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int n = file.Read(magic);
        file.Position = 0;
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    /// <summary>Parses the bytes of an uncompressed NIfTI-1 single file; <paramref name="name"/> goes into errors.</summary>
    public static NiftiVolume Parse(byte[] bytes, string name)
    {
        ReadOnlySpan<byte> b = bytes;
        if (b.Length < 348) throw new InputException($"{name}: {b.Length} bytes is shorter than the 348-byte NIfTI-1 header");
        bool little = BinaryPrimitives.ReadInt32LittleEndian(b) == 348;
        if (!little && BinaryPrimitives.ReadInt32BigEndian(b) != 348)
            throw new InputException($"{name}: sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(b)}, expected 348 (not NIfTI-1)");
        short I16(int o) => little ? BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(o)) : BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(o));
        float F32(int o) => little ? BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(o)) : BinaryPrimitives.ReadSingleBigEndian(bytes.AsSpan(o));
        string magic = System.Text.Encoding.ASCII.GetString(b.Slice(344, 3));
        if (magic != "n+1") throw new InputException($"{name}: magic is '{magic.Replace("\0", "\\0")}', expected 'n+1' (single-file NIfTI-1)");
        int rank = I16(40);
        if (rank < 3 || rank > 7) throw new InputException($"{name}: dim[0] is {rank}, expected 3 to 7");
        int nx = I16(42), ny = I16(44), nz = I16(46);
        for (int d = 4; d <= rank; d++)
            if (I16(40 + 2 * d) > 1) throw new InputException($"{name}: dim[{d}] is {I16(40 + 2 * d)}; only 3-D scalar volumes are read");
        if (nx < 1 || ny < 1 || nz < 1) throw new InputException($"{name}: dims {nx}x{ny}x{nz} must be positive");
        short datatype = I16(70);
        int size = datatype switch { 2 => 1, 4 => 2, 8 => 4, 16 => 4, 64 => 8, 256 => 1, 512 => 2, 768 => 4,
            _ => throw new InputException($"{name}: datatype {datatype} is not a supported scalar type (uint8, int8, int16, uint16, int32, uint32, float32, float64)") };
        long offset = (long)F32(108);
        if (offset < 348) throw new InputException($"{name}: vox_offset {F32(108)} is inside the header");
        long count = (long)nx * ny * nz;
        if (offset + count * size > b.Length)
            throw new InputException($"{name}: truncated: {nx}x{ny}x{nz} voxels of {size} bytes need {offset + count * size} bytes, the file has {b.Length}");
        float slope = F32(112), intercept = F32(116);
        if (slope == 0 || !float.IsFinite(slope)) { slope = 1; intercept = 0; }   // the standard: slope 0 means no scaling
        var data = new float[count];
        var src = b.Slice((int)offset);
        for (long v = 0; v < count; v++)
        {
            var s = src.Slice((int)(v * size), size);
            double raw = datatype switch
            {
                2 => s[0],
                256 => (sbyte)s[0],
                4 => little ? BinaryPrimitives.ReadInt16LittleEndian(s) : BinaryPrimitives.ReadInt16BigEndian(s),
                512 => little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s),
                8 => little ? BinaryPrimitives.ReadInt32LittleEndian(s) : BinaryPrimitives.ReadInt32BigEndian(s),
                768 => little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s),
                16 => little ? BinaryPrimitives.ReadSingleLittleEndian(s) : BinaryPrimitives.ReadSingleBigEndian(s),
                _ => little ? BinaryPrimitives.ReadDoubleLittleEndian(s) : BinaryPrimitives.ReadDoubleBigEndian(s),
            };
            data[v] = (float)(raw * slope + intercept);
        }
        var spacing = (Math.Abs((double)F32(80)), Math.Abs((double)F32(84)), Math.Abs((double)F32(88)));
        double[] affine;
        if (I16(254) > 0)
            affine = Enumerable.Range(0, 12).Select(i => (double)F32(280 + 4 * i)).ToArray();
        else
            affine = [spacing.Item1, 0, 0, F32(268), 0, spacing.Item2, 0, F32(272), 0, 0, spacing.Item3, F32(276)];
        if (affine.Any(v => !double.IsFinite(v))) throw new InputException($"{name}: the voxel-to-mm transform has non-finite values");
        return new NiftiVolume(nx, ny, nz, data, spacing, affine);
    }
}
