// The grid baselines: pixel-unshuffle (exact inverse, element order), average pooling (shapes, values against
// avg_pool2d, unmerge = nearest upsampling) and the PCA + least-squares codec used at equal width.
using Condense.Vision.TokenCompression;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.TokenCompression;

public sealed class GridBaselineTests
{
    private static Tensor Map(Tensor tokens, int h, int w) =>
        tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w);          // (B, C, h, w)

    [Theory]
    [InlineData(8, 8, 2)]
    [InlineData(8, 8, 4)]
    [InlineData(16, 16, 4)]
    [InlineData(4, 12, 2)]
    [InlineData(6, 6, 1)]
    public void PixelUnshuffleRoundTripIsExact(int h, int w, int f)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, h * w, 7, generator: new Generator(23));
        var y = TokenPixelUnshuffle.Apply(x, h, w, f);
        Assert.Equal(new[] { 3L, (long)(h / f) * (w / f), 7L * f * f }, y.shape);
        Assert.True(TokenAssert.Same(TokenPixelUnshuffle.Inverse(y, h, w, f), x));
    }

    [Fact]
    public void PixelUnshuffleMatchesTorchOrderWithChannelsLast()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 16, 3, generator: new Generator(29));                      // 4×4 grid
        var reference = nn.functional.pixel_unshuffle(Map(x, 4, 4), 2);                   // (B, 4C, 2, 2), (c, di, dj)
        var ours = TokenPixelUnshuffle.Apply(x, 4, 4, 2).view(2, 2, 2, 2, 2, 3);          // (B, h', w', di, dj, c)
        Assert.True(TokenAssert.Same(ours.permute(0, 5, 3, 4, 1, 2).reshape(2, 12, 2, 2), reference));
    }

    [Theory]
    [InlineData(8, 8, 2)]
    [InlineData(8, 8, 4)]
    [InlineData(16, 16, 4)]
    [InlineData(4, 8, 2)]
    public void AvgPoolMatchesTorchAndUnmergesByNearestUpsampling(int h, int w, int f)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, h * w, 5, generator: new Generator(31));
        var pooled = TokenAvgPool.Pool(x, h, w, f);
        long outputs = (long)(h / f) * (w / f);
        Assert.Equal(new[] { 2L, outputs, 5L }, pooled.Tokens.shape);
        Assert.True(pooled.Sizes.eq(f * f).all().item<bool>());
        var reference = nn.functional.avg_pool2d(Map(x, h, w), f);                        // (B, C, h/f, w/f)
        Assert.True(Map(pooled.Tokens, h / f, w / f).allclose(reference, rtol: 1e-5, atol: 1e-6));
        var upsampled = nn.functional.interpolate(reference, scale_factor: [f, f], mode: InterpolationMode.Nearest);
        Assert.True(Map(pooled.Unmerge(pooled.Tokens), h, w).allclose(upsampled, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void GridsThatDoNotDivideAreRejected()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => TokenAvgPool.Pool(torch.randn(1, 36, 2), 6, 6, 4));
        Assert.Throws<ArgumentException>(() => TokenPixelUnshuffle.Apply(torch.randn(1, 35, 2), 6, 6, 2));
    }

    // Tokens that lie in a 3-dimensional affine subspace of R^12 are reconstructed exactly from 3 PCA codes, and
    // a code of full width reconstructs anything; 2 codes cannot (the third direction carries variance).
    [Fact]
    public void LinearCodecReconstructsWhatItsWidthCanHold()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(37);
        var latent = torch.randn(500, 3, generator: generator);
        var lift = torch.randn(3, 12, generator: generator);
        var offset = torch.randn(12, generator: generator);
        var tokens = latent.matmul(lift) + offset;                                        // (500, 12), rank 3

        var codec = LinearTokenCodec.Fit(tokens, 3);
        Assert.Equal(3, codec.Width);
        Assert.True(codec.Decode(codec.Encode(tokens)).allclose(tokens, rtol: 1e-4, atol: 1e-4));
        var narrow = LinearTokenCodec.Fit(tokens, 2);
        Assert.False(narrow.Decode(narrow.Encode(tokens)).allclose(tokens, rtol: 1e-2, atol: 1e-2));

        var noise = torch.randn(500, 12, generator: generator);
        var full = LinearTokenCodec.Fit(noise, 12);
        Assert.True(full.Decode(full.Encode(noise)).allclose(noise, rtol: 1e-4, atol: 1e-4));
    }
}
