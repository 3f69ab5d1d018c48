using System.Diagnostics;
using Condense.Testing;
using Condense.Vision.Teachers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

public sealed class HogTeacherTests(ITestOutputHelper output)
{
    private static readonly HogConfig Small = new(InputSize: 32);

    // (1, 3, 32, 32): dark left half, bright right half, the same in every channel.
    private static Tensor VerticalEdge()
    {
        var image = zeros(1, 3, 32, 32);
        image[.., .., .., 16..] = tensor(0.8f);
        return image;
    }

    // Histogram mass per bin, summed over channels and cells: (Bins).
    private static float[] BinMass(HogTeacher hog, Tensor image) =>
        hog.CellHistograms(image).sum([0, 1, 3, 4]).data<float>().ToArray();

    [Fact]
    public void A_vertical_edge_fills_the_horizontal_gradient_bin_and_its_transpose_the_vertical_one()
    {
        using var scope = NewDisposeScope();
        using var hog = new HogTeacher(Small);
        var edge = VerticalEdge();

        var mass = BinMass(hog, edge);
        Assert.True(mass[4] > 0);   // gradient along x: angle pi/2, bin floor(4.5) = 4
        Assert.Equal(mass[4], mass.Sum(), 4);

        var turned = BinMass(hog, edge.transpose(2, 3));
        Assert.True(turned[0] > 0); // gradient along y: angle 0 (or pi), bin 0
        Assert.Equal(turned[0], turned.Sum(), 4);
    }

    [Fact]
    public void Separable_Sobel_matches_the_reference_convolution()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var padded = rand(2, 3, 18, 18);
        var kx = tensor(new float[] { 1, 0, -1, 2, 0, -2, 1, 0, -1 }, [1, 1, 3, 3]).repeat(3, 1, 1, 1);
        var (gx, gy) = HogTeacher.Sobel(padded);
        Assert.True(gx.allclose(nn.functional.conv2d(padded, kx, groups: 3), rtol: 0, atol: 1e-5));
        Assert.True(gy.allclose(nn.functional.conv2d(padded, kx.transpose(2, 3).contiguous(), groups: 3),
            rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void A_flat_image_has_no_histogram_at_all()
    {
        using var scope = NewDisposeScope();
        using var hog = new HogTeacher(Small);
        Assert.Equal(0f, hog.Forward(full(1, 3, 32, 32, 0.3f)).Features!.abs().max().item<float>());
    }

    [Fact]
    public void A_diagonal_edge_lands_in_the_45_degree_bin()
    {
        using var scope = NewDisposeScope();
        using var hog = new HogTeacher(Small);
        var rows = arange(32).view(32, 1);
        var image = (rows + arange(32).view(1, 32)).gt(31).to_type(ScalarType.Float32).expand(1, 3, 32, 32);
        var mass = BinMass(hog, image.contiguous());
        // Brightness grows along +x and +y: angle atan2(1, 1) = pi/4, bin floor(2.25) = 2.
        Assert.Equal(2, Array.IndexOf(mass, mass.Max()));
        Assert.True(mass[2] > 0.5 * mass.Sum(), string.Join(", ", mass));
    }

    [Fact]
    public void Features_have_the_configured_shape_and_unit_norm_cells()
    {
        using var scope = NewDisposeScope();
        using var hog = new HogTeacher(Small);
        Assert.Equal((108, 2, 32), (hog.FeatureDim, hog.FeatureGrid, hog.InputSize));
        Assert.Null(hog.SummaryDim);

        var (summary, features) = hog.Forward(VerticalEdge());
        Assert.Null(summary);
        Assert.Equal(new long[] { 1, 108, 2, 2 }, features!.shape);
        Assert.False(features.requires_grad);

        // Each (channel, cell) 9-vector is unit length where the cell sees the edge and zero elsewhere: in the
        // first patch (cells 0-1 x 0-1) only the cell column 1 (pixels 8-15) touches the edge at x = 15/16.
        var cells = features[0, .., 0, 0].view(3, 9, 2, 2);                 // (channel, bin, cell row, cell col)
        var norms = cells.square().sum(1).sqrt();                            // (3, 2, 2)
        Assert.True(norms[.., .., 1].allclose(ones(3, 2)));
        Assert.True(norms[.., .., 0].allclose(zeros(3, 2)));
        Assert.True(cells[.., 4, .., 1].allclose(ones(3, 2)));
    }

    [Fact]
    public void Kitten_features_are_finite_normalized_and_differ_between_patches()
    {
        using var scope = NewDisposeScope();
        using var hog = new HogTeacher();
        var kitten = SharedImages.Photo("kitten.png", 256);              // resized to 224 by the teacher
        var features = hog.Forward(kitten).Features!;
        var clock = Stopwatch.StartNew();   // the second call, warm
        hog.Forward(kitten);
        output.WriteLine($"HOG 224 px: {clock.Elapsed.TotalMilliseconds:F1} ms/image");

        Assert.Equal(new long[] { 1, 108, 14, 14 }, features.shape);
        Assert.True(features.isfinite().all().item<bool>());
        Assert.True(features.min().item<float>() >= 0f);
        var norms = features.view(3, 9, 4, 14, 14).square().sum(1).sqrt();  // one norm per channel, cell
        Assert.True((norms - 1).abs().lt(1e-4).logical_or(norms.eq(0)).all().item<bool>());
        Assert.True(norms.gt(0).to_type(ScalarType.Float32).mean().item<float>() > 0.9f, "a photo has texture");

        var patches = features.view(108, 196).t();                          // (patches, values)
        var distances = cdist(patches, patches);                            // (196, 196)
        var offDiagonal = distances + eye(196) * 1e3;
        Assert.True(offDiagonal.min().item<float>() > 1e-3, "no two patches are identical");
        Assert.True(patches.std(0).mean().item<float>() > 0.05, "patches vary");
    }

    [Fact]
    public void Config_must_nest_and_fingerprint_tracks_it()
    {
        Assert.Throws<ArgumentException>(() => new HogTeacher(new HogConfig(PatchSize: 12)));
        Assert.Throws<ArgumentException>(() => new HogTeacher(new HogConfig(InputSize: 200)));
        using var a = new HogTeacher();
        using var b = new HogTeacher(name: "hog_copy");
        using var c = new HogTeacher(new HogConfig(CellSize: 4));
        using var d = new HogTeacher(new HogConfig(Bins: 12));
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal(4, new[] { a, c, d, new HogTeacher(new HogConfig(InputSize: 112)) }
            .Select(t => t.Fingerprint).Distinct().Count());
        Assert.Equal(3 * 9 * 16, c.FeatureDim);
    }
}
