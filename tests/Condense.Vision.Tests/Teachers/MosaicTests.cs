using Condense.Core;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Teachers;

/// <summary>Mosaic packing: tiles round-trip, a teacher without cross-tile leakage gives each tile exactly its
/// single-image features, and HOG (3×3 gradients) matches away from the tile borders.</summary>
public sealed class MosaicTests
{
    /// <summary>A teacher whose receptive field is one 8-px patch (kernel = stride = 8): no leakage by design.</summary>
    private sealed class PatchConvTeacher(int inputSize) : ITeacher
    {
        private readonly Tensor _weight = torch.randn(16, 3, 8, 8, generator: new Generator(7)).DetachFromDisposeScope();
        public long ImagesSeen { get; private set; }
        public string Name => "patchconv";
        public string Fingerprint => $"patchconv{inputSize}";
        public int InputSize => inputSize;
        public int? SummaryDim => 16;
        public int? FeatureDim => 16;
        public int? FeatureGrid => inputSize / 8;

        public TeacherOutput Forward(Tensor images)
        {
            ImagesSeen += images.shape[0];
            var f = nn.functional.conv2d(TeacherImages.Resize(images, inputSize), _weight, strides: [8, 8]);   // (B, 16, s/8, s/8)
            return new TeacherOutput(f.mean([2, 3]), f);
        }

        public void Dispose() => _weight.Dispose();
    }

    private static Tensor Photos(int n) => torch.rand(n, 3, 32, 32, generator: new Generator(3));

    [Fact]
    public void PackThenUnpackReturnsEveryTile()
    {
        using var scope = torch.NewDisposeScope();
        var x = Photos(7);                                             // 7 images, 2 canvases of 2×2 (one partly empty)
        var canvases = Mosaic.Pack(x, 2);
        Assert.Equal(new long[] { 2, 3, 64, 64 }, canvases.shape);
        Assert.Equal(0f, (Mosaic.Unpack(canvases, 2, 7) - x).abs().max().item<float>());
        Assert.Equal(0f, (canvases[0, .., 0..32, 32..64] - x[1]).abs().max().item<float>());   // row-major tiles
        Assert.Equal(0f, canvases[1, .., 32..64, 32..64].abs().max().item<float>());            // padding tile
    }

    [Fact]
    public void WithoutLeakageEachTileEqualsTheImageAlone()
    {
        using var scope = torch.NewDisposeScope();
        using var inner = new PatchConvTeacher(64);
        using var mosaic = new MosaicTeacher(inner, 2);
        using var alone = new PatchConvTeacher(32);
        var x = Photos(8);
        var tiled = mosaic.Forward(x);
        Assert.Null(tiled.Summary);
        Assert.Equal(2, inner.ImagesSeen);                             // 8 images: the teacher runs on 2 canvases
        Assert.Equal(0.25, mosaic.TeacherPassesPerImage);
        Assert.Equal(new long[] { 8, 16, 4, 4 }, tiled.Features!.shape);
        Assert.True((tiled.Features! - alone.Forward(x).Features!).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void HogMatchesAwayFromTileBordersAndLeaksAtThem()
    {
        using var scope = torch.NewDisposeScope();
        using var mosaic = new MosaicTeacher(new HogTeacher(new HogConfig(64, 4, 8, 9)), 2);
        using var alone = new HogTeacher(new HogConfig(32, 4, 8, 9));
        var x = Photos(4);
        var tiled = mosaic.Forward(x).Features!;                      // (4, 108, 4, 4)
        var single = alone.Forward(x).Features!;
        var interior = (tiled[.., .., 1..3, 1..3] - single[.., .., 1..3, 1..3]).abs().max().item<float>();
        var border = (tiled - single).abs().max().item<float>();
        Assert.True(interior < 1e-5f, $"interior patches differ by {interior}");
        Assert.True(border > 1e-3f, "border patches see their neighbours through the 3x3 gradient (leakage)");
    }

    [Fact]
    public void TeachersThatCannotBeTiledAreInputErrors()
    {
        using var inner = new PatchConvTeacher(64);
        Assert.Throws<InputException>(() => new MosaicTeacher(inner, 3));    // 64 px is not 3 equal tiles
        using var noFeatures = TeacherRegistry.Create(new TeacherSpec("cnn", "onnx", 32, new Dictionary<string, string>
        {
            ["model_path"] = Condense.Core.IO.AssetPaths.Require("models/onnx/cifar10_cnn.onnx"),
            ["summary_output"] = OnnxGraph.ListValues(Condense.Core.IO.AssetPaths.Require("models/onnx/cifar10_cnn.onnx")).Single(v => v.IsGraphOutput).Name,
            ["mean"] = "0.5,0.5,0.5", ["std"] = "0.5,0.5,0.5",
        }));
        var ex = Assert.Throws<InputException>(() => new MosaicTeacher(noFeatures, 2));
        Assert.Contains("no spatial features", ex.Message, StringComparison.Ordinal);
    }
}
