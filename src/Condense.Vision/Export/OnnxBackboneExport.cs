// ONNX export of the registered vision backbones: one graph writer per model family (ViT, RADIO student, FasterViT,
// E-RADIO), found by the backbone's type. The graph has one input `images` (N, 3, H, W), as the backbone's
// ForwardBackbone takes it, and the backbone contract's outputs `summary` (N, SummaryDim) and `features`
// (N, FeatureDim, H/s, W/s); intermediates are not exported. The batch is always free; the resolution is free where
// the family allows it (the RADIO student's CPE resamples its position table at any multiple of the patch size) and
// fixed at export otherwise (a timm ViT's position table, FasterViT's carrier-token grid and E-RADIO's window rule
// depend on the input size).
using Condense.Core;
using Condense.Vision.Models;
using Onnx;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>The graph a family writer produced for a backbone: its summary and feature values.</summary>
/// <param name="Summary">(N, SummaryDim).</param>
/// <param name="Features">(N, FeatureDim, h, w).</param>
public sealed record OnnxBackboneValues(string Summary, string Features);

/// <summary>Writes the ONNX graph of one model family.</summary>
public interface IOnnxBackboneWriter
{
    /// <summary>Whether this writer exports <paramref name="backbone"/>.</summary>
    bool Handles(IBackbone backbone);

    /// <summary>Whether the graph accepts any input size (a multiple of the family's granularity).</summary>
    bool DynamicResolution(IBackbone backbone);

    /// <summary>Emits the backbone on <paramref name="images"/>; weights are read under <paramref name="prefix"/> ("" or "backbone.").</summary>
    OnnxBackboneValues Write(OnnxGraphBuilder b, ModuleWeights w, string prefix, IBackbone backbone, string images, int height, int width);
}

/// <summary>Exports registered backbones to ONNX.</summary>
public static class OnnxBackboneExport
{
    private static readonly IOnnxBackboneWriter[] Writers =
        [new VitOnnx(), new RadioStudentOnnx(), new FasterViTOnnx(), new ERadioOnnx()];

    /// <summary>The writer for <paramref name="backbone"/>; a family without one is an input error naming its type.</summary>
    public static IOnnxBackboneWriter WriterFor(IBackbone backbone)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        return Writers.FirstOrDefault(w => w.Handles(backbone))
            ?? throw new InputException($"no ONNX exporter for {backbone.GetType().Name}");
    }

    /// <summary>
    /// The ONNX model of <paramref name="backbone"/> (eval mode) for <paramref name="height"/> x <paramref name="width"/>
    /// inputs; the size is only a declared default where the family takes any size.
    /// </summary>
    public static ModelProto Export(IBackbone backbone, int height, int width, string name)
    {
        var writer = WriterFor(backbone);
        backbone.Module.eval();
        using var noGrad = no_grad();
        bool dynamic = writer.DynamicResolution(backbone);
        var b = new OnnxGraphBuilder();
        var images = b.Input("images", "N", 3, dynamic ? "H" : height, dynamic ? "W" : width);
        var weights = new ModuleWeights(backbone.Module);
        var values = writer.Write(b, weights, "", backbone, images, height, width);
        weights.EnsureAllParametersUsed(name);
        int s = backbone.FeatureStride;
        b.Output(values.Summary, "summary", "N", backbone.SummaryDim);
        b.Output(values.Features, "features", "N", backbone.FeatureDim,
            dynamic ? "h" : (object)((height + s - 1) / s), dynamic ? "w" : (object)((width + s - 1) / s));
        return b.Build($"condense {name}: images (N, 3, H, W) to summary and dense features",
            new Dictionary<string, string>
            {
                ["condense.model"] = name,
                ["condense.input"] = dynamic ? $"any H, W (multiples of {s}); exported at {height}x{width}" : $"{height}x{width}",
                ["condense.feature_stride"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
    }

    /// <summary>The backbone's TorchSharp outputs under the graph's output names (what the graph is checked against).</summary>
    public static IReadOnlyDictionary<string, Tensor> Reference(IBackbone backbone, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        var output = backbone.ForwardBackbone(images);
        return new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["summary"] = output.Summary, ["features"] = output.Features };
    }
}
