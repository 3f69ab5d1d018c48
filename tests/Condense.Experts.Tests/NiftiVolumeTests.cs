using System.Buffers.Binary;
using System.IO.Compression;
using Condense.Core;
using Condense.Experts.Volumes;
using Condense.Testing;

namespace Condense.Experts.Tests;

public class NiftiVolumeTests
{
    // A minimal NIfTI-1 single file: header, 4 extension bytes, then the voxels.
    private static byte[] Nifti(int nx, int ny, int nz, short datatype, byte[] voxels, bool bigEndian = false, float slope = 1, float intercept = 0)
    {
        var b = new byte[352 + voxels.Length];
        void I32(int o, int v) { if (bigEndian) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(o), v); }
        void I16(int o, short v) { if (bigEndian) BinaryPrimitives.WriteInt16BigEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(o), v); }
        void F32(int o, float v) { if (bigEndian) BinaryPrimitives.WriteSingleBigEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(o), v); }
        I32(0, 348);
        I16(40, 3); I16(42, (short)nx); I16(44, (short)ny); I16(46, (short)nz); I16(48, 1);
        I16(70, datatype);
        F32(80, 1); F32(84, 2); F32(88, 3);
        F32(108, 352); F32(112, slope); F32(116, intercept);
        b[344] = (byte)'n'; b[345] = (byte)'+'; b[346] = (byte)'1';
        voxels.CopyTo(b, 352);
        return b;
    }

    [Fact]
    public void Reads_int16_big_endian_with_scaling_in_x_fastest_order()
    {
        var voxels = new byte[2 * 2 * 3 * 2];
        for (int v = 0; v < 12; v++) BinaryPrimitives.WriteInt16BigEndian(voxels.AsSpan(2 * v), (short)(v - 3));
        var volume = NiftiVolume.Parse(Nifti(2, 3, 2, 4, voxels, bigEndian: true, slope: 2, intercept: 1), "t.nii");
        Assert.Equal((2, 3, 2), (volume.Nx, volume.Ny, volume.Nz));
        Assert.Equal(2 * (0 - 3) + 1, volume.At(0, 0, 0));
        Assert.Equal(2 * (1 + 2 * (2 + 3 * 1) - 3) + 1, volume.At(1, 2, 1));
        Assert.Equal((1.0, 2.0, 3.0), volume.Spacing);
    }

    [Fact]
    public void Reads_a_gzipped_file_and_the_colin27_volumes()
    {
        using var temp = new TempFolder();
        var raw = Nifti(2, 2, 1, 2, [1, 2, 3, 4]);
        using (var file = File.Create(temp.File("small.nii.gz")))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
            gz.Write(raw);
        Assert.Equal([1f, 2, 3, 4], NiftiVolume.Read(temp.File("small.nii.gz")).Data);

        var atlas = ColinAtlas.Value;
        Assert.Equal((181, 217, 181), atlas.Size);
        Assert.Equal(116, atlas.Regions.Count);
        Assert.Equal(-90, atlas.T1.XMillimetres(0), 3);
        // MNI space: voxels left of i = 90 are the subject's left; the atlas agrees with its names.
        var left = Enumerable.Range(0, atlas.Labels.Length).Where(v => atlas.Labels[v] > 0 && v % 181 < 80).Select(v => atlas.Region(atlas.Labels[v])!).ToList();
        Assert.True(left.Count(r => r.Hemisphere == Hemisphere.Left) > 0.99 * left.Count(r => r.Hemisphere != Hemisphere.Midline));
    }

    [Theory]
    [InlineData("short", "shorter than the 348-byte")]
    [InlineData("magic", "magic")]
    [InlineData("truncated", "truncated")]
    [InlineData("datatype", "datatype 128")]
    [InlineData("gzip", "not a valid gzip stream")]
    public void A_bad_file_gets_a_one_line_error_naming_it(string damage, string expected)
    {
        using var temp = new TempFolder();
        var good = Nifti(4, 4, 4, 2, new byte[64]);
        byte[] bytes = damage switch
        {
            "short" => good[..100],
            "magic" => Patch(good, 344, (byte)'x'),
            "truncated" => good[..380],
            "datatype" => Patch(good, 70, 128),
            _ => [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        };
        string path = temp.Write("bad.nii" + (damage == "gzip" ? ".gz" : ""), bytes);
        var e = Assert.Throws<InputException>(() => NiftiVolume.Read(path));
        Assert.Contains("bad.nii", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_missing_atlas_folder_names_the_package()
    {
        using var temp = new TempFolder();
        var e = Assert.Throws<InputException>(() => BrainAtlas.Load(temp.Path));
        Assert.Contains("mricron-data", e.Message);
    }

    private static byte[] Patch(byte[] bytes, int offset, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] = value;
        return copy;
    }
}
