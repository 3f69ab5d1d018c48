// Tests for the PNG line charts: valid PNG of the requested size, lines actually drawn, log-scale rules.
using System.Buffers.Binary;
using Condense.Core.Reports;
using Condense.Testing;
using SkiaSharp;

namespace Condense.Core.Tests.Reports;

public class PlotsTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // ScottPlot's first two default series colours (Category10 blue and orange).
    private static readonly SKColor FirstSeriesColor = new(0x1f, 0x77, 0xb4);
    private static readonly SKColor SecondSeriesColor = new(0xff, 0x7f, 0x0e);

    [Fact]
    public void LineChart_WritesAPngOfTheRequestedSize_WithEverySeriesDrawn()
    {
        using var folder = new TempFolder();
        var path = folder.File("loss.png");
        var steps = Enumerable.Range(0, 50).Select(i => i * 10.0).ToArray();
        var train = steps.Select(s => 2.5 * Math.Exp(-s / 150) + 0.3).ToArray();
        var valid = steps.Select(s => 2.6 * Math.Exp(-s / 170) + 0.4).ToArray();

        Plots.LineChart(path, "Training loss", "step", "loss",
            [new PlotSeries("train", steps, train), new PlotSeries("valid", steps, valid)], width: 640, height: 360);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Equal((640, 360), PngSize(bytes));
        Assert.Equal(new[] { "loss.png" }, folder.Entries());
        using var image = SKBitmap.Decode(path);
        Assert.True(CountPixelsNear(image, FirstSeriesColor) > 100, "first series not drawn");
        Assert.True(CountPixelsNear(image, SecondSeriesColor) > 100, "second series not drawn");
    }

    [Fact]
    public void LineChart_ReplacesAnExistingFile()
    {
        using var folder = new TempFolder();
        var path = folder.File("chart.png");
        var series = new PlotSeries("acc", [0, 1, 2, 3], [0.1, 0.5, 0.7, 0.8]);

        Plots.LineChart(path, "first", "step", "accuracy", [series], width: 300, height: 200);
        Plots.LineChart(path, "second", "step", "accuracy", [series], width: 420, height: 260);

        Assert.Equal((420, 260), PngSize(File.ReadAllBytes(path)));
        Assert.Equal(new[] { "chart.png" }, folder.Entries());
    }

    [Fact]
    public void LogChart_SkipsNonPositiveValues_AndStillDrawsThePositiveOnes()
    {
        using var folder = new TempFolder();
        var path = folder.File("log.png");
        var series = new PlotSeries("grad norm", [0, 1, 2, 3, 4, 5, 6], [100, 0, 10, -5, 1, 0.1, double.NaN]);

        Plots.LineChart(path, "Gradient norm", "step", "norm", [series], logY: true, width: 500, height: 400);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Equal((500, 400), PngSize(bytes));
        using var image = SKBitmap.Decode(path);
        Assert.True(CountPixelsNear(image, FirstSeriesColor) > 100, "positive points not drawn");
    }

    [Fact]
    public void LogChart_WithNoPositiveValue_IsAnInputError_AndWritesNothing()
    {
        using var folder = new TempFolder();
        var path = folder.File("nothing.png");
        var series = new PlotSeries("delta", [0, 1, 2], [0, -1, -2]);

        var error = Assert.Throws<InputException>(() =>
            Plots.LineChart(path, "Delta", "step", "delta", [series], logY: true));

        Assert.Contains("nothing.png", error.Message, StringComparison.Ordinal);
        Assert.Contains("log scale", error.Message, StringComparison.Ordinal);
        Assert.Empty(folder.Entries());
    }

    [Fact]
    public void LineChart_RejectsSeriesWithMismatchedLengths()
    {
        using var folder = new TempFolder();
        var series = new PlotSeries("broken", [0, 1, 2], [1, 2]);

        var error = Assert.Throws<ArgumentException>(() =>
            Plots.LineChart(folder.File("broken.png"), "t", "x", "y", [series]));

        Assert.Contains("'broken'", error.Message, StringComparison.Ordinal);
        Assert.Empty(folder.Entries());
    }

    [Theory]
    [InlineData(1000.0, "1000")]
    [InlineData(0.01, "0.01")]
    [InlineData(2.0, "2")]
    [InlineData(1e-5, "1e-5")]
    [InlineData(2.5e7, "2.5e+7")]
    [InlineData(123456.0, "123000")]
    public void LogAxisLabels_ArePlainNumbersInTheUsualRange(double value, string expected)
    {
        Assert.Equal(expected, LogAxisTicks.Label(value));
    }

    /// <summary>Width and height from the IHDR chunk, which must be the first chunk.</summary>
    private static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.Equal(13u, BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(8)));
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)),
            BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static int CountPixelsNear(SKBitmap image, SKColor color)
    {
        var count = 0;
        foreach (var pixel in image.Pixels)
        {
            var distance = Math.Abs(pixel.Red - color.Red) + Math.Abs(pixel.Green - color.Green)
                + Math.Abs(pixel.Blue - color.Blue);
            if (distance < 30)
                count++;
        }
        return count;
    }
}
