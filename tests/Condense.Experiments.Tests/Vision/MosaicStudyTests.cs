using Condense.Core;
using Condense.Experiments.Vision;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Tests.Vision;

/// <summary>The mosaic study's cost and leakage measurement on the real ResNet18 teacher (small canvas for CPU).</summary>
public sealed class MosaicStudyTests
{
    private static DistillRecipe Recipe() => RecipeLoader.LoadDefault(["data.train_images=64", "data.test_images=16"]);

    [Fact]
    public void CostRowsCoverCanvasMosaicAndTheImageAloneAtTileSize()
    {
        var rows = MosaicStudy.MeasureCost(Recipe(), canvas: 64, tiles: [1, 2], images: 8);
        Assert.Equal(["canvas (no mosaic)", "mosaic 2x2", "alone at tile size (32 px)"], rows.Select(r => r.Arm));
        var canvas = rows[0];
        var mosaic = rows[1];
        Assert.Equal((1, 64, 64, 2), (canvas.ImagesPerPass, canvas.TeacherInput, canvas.PixelsPerImage, canvas.FeatureGrid));
        Assert.Equal((4, 64, 32, 1), (mosaic.ImagesPerPass, mosaic.TeacherInput, mosaic.PixelsPerImage, mosaic.FeatureGrid));
        Assert.All(rows, r => Assert.True(r.MsPerImage > 0));
        // a convolutional teacher sees its neighbours across the tile border: similar to the image alone, not equal
        Assert.InRange(mosaic.TileVsAloneCosine!.Value, 0.3, 0.9999);
        Assert.True(mosaic.TileVsAloneRelativeError > 1e-4 && double.IsFinite(mosaic.TileVsAloneRelativeError!.Value));
        Assert.Null(canvas.TileVsAloneCosine);
    }

    [Fact]
    public void TilesThatDoNotDivideTheFeatureGridAreBadInput()
    {
        var ex = Assert.Throws<InputException>(() => MosaicStudy.MeasureCost(Recipe(), canvas: 64, tiles: [3], images: 4));
        Assert.Equal("Tiles", ex.Option);
        Assert.StartsWith("Tiles 3: canvas 64 px", ex.Message, StringComparison.Ordinal);   // the engine names its option, not a CLI flag
    }
}
