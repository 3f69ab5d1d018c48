using Condense.Core;
using Condense.Vision.Radio;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class CpeTests
{
    // 8 x 8 position table (MaxResolution 32, patch 4), 4 channels.
    private static readonly RadioStudentConfig Tiny = new(PatchSize: 4, EmbedDim: 4, Depth: 1, NumHeads: 2,
        MaxResolution: 32, NumClsTokens: 1, RegisterMultiple: 0, PosDropout: 0);

    // Channels: row, column, 1 and row * column, all reproduced exactly by bilinear interpolation.
    private static Tensor BilinearTable(int G, Func<double, double> scale)
    {
        var values = new float[G * G * 4];
        for (int r = 0; r < G; r++)
            for (int c = 0; c < G; c++)
            {
                int o = (r * G + c) * 4;
                values[o] = (float)scale(r);
                values[o + 1] = (float)scale(c);
                values[o + 2] = 1;
                values[o + 3] = (float)(scale(r) * scale(c));
            }
        return tensor(values).reshape(1, G * G, 4);   // (1, G*G, 4)
    }

    private static ViTPatchGenerator WithTable(RadioStudentConfig config, Tensor table)
    {
        var gen = new ViTPatchGenerator(config);
        using (no_grad()) gen.PosEmbed.copy_(table);
        return gen;
    }

    [Fact]
    public void Eval_resizes_the_table_to_the_long_side_and_takes_the_top_left_window()
    {
        using var scope = NewDisposeScope();
        using var gen = WithTable(Tiny, BilinearTable(8, v => v));
        gen.eval();
        // 4 x 6 tokens: the table goes to 6 x 6 (align_corners false, as the reference: position i sits at
        // (i + 1/2) * 8/6 - 1/2 = i * 4/3 + 1/6 of the table), then rows 0..3 and columns 0..5 are kept.
        var pos = gen.PositionEmbedding(2, 4, 6);                            // (1, 24, 4)
        Assert.Equal(new long[] { 1, 24, 4 }, pos.shape);
        var expected = BilinearTable(6, v => v * 4.0 / 3.0 + 1.0 / 6.0).reshape(6, 6, 4)
            .narrow(0, 0, 4).reshape(1, 24, 4);                             // (1, 24, 4)
        Assert.True(allclose(pos, expected, rtol: 0, atol: 1e-4),
            $"max error {(pos - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Eval_without_resize_is_exactly_the_top_left_window_of_the_table()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var table = randn(1, 64, 4);                                         // (1, 8*8, 4)
        using var gen = WithTable(Tiny, table);
        gen.eval();
        var pos = gen.PositionEmbedding(1, 8, 5);                            // (1, 40, 4)
        var expected = table.reshape(8, 8, 4).narrow(1, 0, 5).reshape(1, 40, 4);
        Assert.True(Identical.Check(pos, expected));
        var tall = gen.PositionEmbedding(1, 3, 8);                           // (1, 24, 4)
        Assert.True(Identical.Check(tall, table.reshape(8, 8, 4).narrow(0, 0, 3).reshape(1, 24, 4)));
    }

    [Fact]
    public void Full_table_grid_uses_the_table_as_is_in_training_too()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var table = randn(1, 64, 4);
        using var gen = WithTable(Tiny, table);
        gen.train();
        Assert.True(Identical.Check(gen.PositionEmbedding(3, 8, 8), table));
    }

    [Fact]
    public void Train_crops_are_per_sample_in_range_and_seeded()
    {
        using var scope = NewDisposeScope();
        // Channels 0/1 hold the normalized row/column, so a sampled value is the crop coordinate itself.
        using var gen = WithTable(Tiny, BilinearTable(8, v => v / 7.0));
        gen.train();
        const int B = 16, h = 3, w = 5;
        manual_seed(11);
        var pos = gen.PositionEmbedding(B, h, w).reshape(B, h, w, 4);        // (B, h, w, 4)
        manual_seed(11);
        var again = gen.PositionEmbedding(B, h, w);                          // (B, h*w, 4)
        Assert.True(Identical.Check(pos.reshape(B, h * w, 4), again));
        manual_seed(12);
        Assert.False(allclose(gen.PositionEmbedding(B, h, w), again));

        double minSide = Math.Sqrt(0.1) * Math.Sqrt(3.0 / 4.0) - 1e-4;
        var seen = new HashSet<(double, double)>();
        for (int b = 0; b < B; b++)
        {
            var x = pos[b, .., .., 1];                                       // (h, w) column coordinate
            var y = pos[b, .., .., 0];                                       // (h, w) row coordinate
            // Constant along the other axis, evenly spaced along its own axis.
            Assert.True(allclose(x, x[0].unsqueeze(0).expand(h, w), atol: 1e-5));
            Assert.True(allclose(y, y[.., 0].unsqueeze(1).expand(h, w), atol: 1e-5));
            Assert.True(allclose(x[0].diff(), x[0].diff()[0].expand(w - 1), atol: 1e-5));
            double x0 = x[0, 0].item<float>(), sx = x[0, w - 1].item<float>() - x0;
            double y0 = y[0, 0].item<float>(), sy = y[h - 1, 0].item<float>() - y0;
            Assert.InRange(sx, minSide, 1 + 1e-5);
            Assert.InRange(sy, minSide, 1 + 1e-5);
            Assert.InRange(x0, -1e-5, 1 - sx + 1e-5);
            Assert.InRange(y0, -1e-5, 1 - sy + 1e-5);
            if (sx < 1 - 1e-4 && sy < 1 - 1e-4)
                Assert.InRange(sx / sy, 9.0 / 16 - 1e-3, 16.0 / 9 + 1e-3);
            // The bilinear row * column channel stays consistent with the sampled coordinates.
            Assert.True(allclose(pos[b, .., .., 3], x * y, atol: 1e-5));
            seen.Add((Math.Round(x0, 4), Math.Round(sx, 4)));
        }
        Assert.True(seen.Count > B / 2, "crops should differ between samples");
    }

    [Fact]
    public void Position_dropout_drops_whole_samples_in_training_only()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var gen = new ViTPatchGenerator(Tiny with { PosDropout = 0.5 });
        var images = randn(64, 3, 12, 20);
        gen.train();
        var tokens = gen.call(images).narrow(1, 1, 15);                      // (64, 15, 4) patch tokens
        var delta = (tokens - gen.EmbedPatches(images)).abs().amax([1, 2]);  // (64,)
        int dropped = (int)(delta == 0).sum().item<long>();
        Assert.InRange(dropped, 12, 52);
        Assert.True((delta > 1e-3).sum().item<long>() == 64 - dropped);
        gen.eval();
        var evalDelta = (gen.call(images).narrow(1, 1, 15) - gen.EmbedPatches(images)).abs().amax([1, 2]);
        Assert.True((evalDelta > 1e-3).all().item<bool>());
    }

    [Fact]
    public void Im2Patches_flattens_channel_then_row_then_column()
    {
        using var scope = NewDisposeScope();
        using var gen = new ViTPatchGenerator(Tiny);
        var images = arange(3 * 8 * 12, dtype: float32).reshape(1, 3, 8, 12);
        var patches = gen.Im2Patches(images);                                // (1, 6, 48)
        Assert.Equal(new long[] { 1, 6, 48 }, patches.shape);
        // Patch 4 is grid row 1, column 1; its element (c=2, y=3, x=1) is pixel (2, 4 + 3, 4 + 1).
        Assert.Equal(images[0, 2, 7, 5].item<float>(), patches[0, 4, 2 * 16 + 3 * 4 + 1].item<float>());
    }

    [Theory]
    [InlineData(30, 32)]
    [InlineData(32, 18)]
    public void Size_not_a_multiple_of_the_patch_is_an_InputException(int H, int W)
    {
        using var scope = NewDisposeScope();
        using var gen = new ViTPatchGenerator(Tiny);
        var ex = Assert.Throws<InputException>(() => gen.call(zeros(1, 3, H, W)));
        Assert.Contains($"{H}x{W}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("patch size 4", ex.Message, StringComparison.Ordinal);
    }
}
