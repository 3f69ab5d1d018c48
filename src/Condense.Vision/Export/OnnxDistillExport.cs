// ONNX export of a distilled model: the student and every teacher's adaptor heads, with the feature normalizer (PHI-S
// and the others) folded into the heads, so the outputs are in each teacher's units. Input `images` (N, 3, H, W) in
// [0, 1] (the student's CLIP conditioner is in the graph); outputs `summary` (the student's summary tokens
// concatenated), `features` (the student's dense features), and per teacher `{teacher}.summary` (N, Cs) and
// `{teacher}.features` (N, Cf, h, w), each where the teacher has one. With the RADIO ViT student any H and W that are
// multiples of the patch size run; a registered backbone student is fixed to the export size.
using Condense.Vision.Radio;
using Onnx;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>Exports <see cref="RadioDistillModel"/>s to ONNX.</summary>
public static class OnnxDistillExport
{
    /// <summary>Whether the graph of <paramref name="model"/> takes any input size.</summary>
    public static bool DynamicResolution(RadioDistillModel model) => model.StudentModule is RadioStudent;

    /// <summary>The ONNX model of <paramref name="model"/> (eval mode) for <paramref name="height"/> x <paramref name="width"/> inputs.</summary>
    public static ModelProto Export(RadioDistillModel model, int height, int width, string name, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.eval();
        using var noGrad = no_grad();
        bool dynamic = DynamicResolution(model);
        var b = new OnnxGraphBuilder();
        var images = b.Input("images", "N", 3, dynamic ? "H" : height, dynamic ? "W" : width);
        var w = new ModuleWeights(model);
        string summaryTokens, patches, features;
        int stride;
        long featureDim;
        object gridH, gridW;
        if (model.StudentModule is RadioStudent student)
        {
            var (s, p, grid) = RadioStudentOnnx.Tokens(b, w, "model.", student, images);
            summaryTokens = s;                                                                          // (B, T, D)
            patches = p;                                                                                // (B, h*w, D)
            featureDim = student.Config.EmbedDim;
            features = RadioStudentOnnx.Map(b, patches, grid, featureDim);
            stride = student.Config.PatchSize;
            (gridH, gridW) = ("h", "w");
        }
        else if (model.StudentModule is BackboneStudent wrapped)
        {
            var backbone = wrapped.Backbone;
            var x = RadioStudentOnnx.InputConditioner(b, w, "model.", images);                         // (B, 3, H, W)
            var values = OnnxBackboneExport.WriterFor(backbone).Write(b, w, "model.backbone.", backbone, x, height, width);
            summaryTokens = b.Reshape(values.Summary, 0, 1, -1);                                        // (B, 1, Ds)
            features = values.Features;                                                                 // (B, Df, h, w)
            featureDim = backbone.FeatureDim;
            patches = b.Transpose(b.Reshape(features, 0, featureDim, -1), 0, 2, 1);                      // (B, h*w, Df)
            stride = backbone.FeatureStride;
            (gridH, gridW) = ((height + stride - 1) / stride, (width + stride - 1) / stride);
        }
        else throw new ArgumentException($"no ONNX exporter for a {model.StudentModule.GetType().Name} student", nameof(model));

        long summaryDim = model.StudentModule is RadioStudent vit ? (long)vit.Config.NumClsTokens * vit.Config.EmbedDim
            : ((BackboneStudent)model.StudentModule).Backbone.SummaryDim;
        b.Output(b.Reshape(summaryTokens, 0, -1), "summary", "N", summaryDim);
        b.Output(features, "features", "N", featureDim, gridH, gridW);
        long tokenCount = model.StudentModule is RadioStudent rs ? rs.Config.NumClsTokens : 1;
        string? batchDim = null, gridDims = null;                                                       // runtime shape of the features, read once
        foreach (var t in model.Teachers)
        {
            if (t.SummaryDim is int cs && model.SummaryTokenIndex(t.Name) is int slot)
            {
                var token = b.Select(summaryTokens, 1, tokenCount == 1 ? 0 : slot);                    // (B, D)
                b.Output(Mlp2(b, w, $"adaptors.{t.Name}.head_mlp", token), $"{t.Name}.summary", "N", cs);
            }
            if (t.FeatureDim is int cf)
            {
                var f = Mlp2(b, w, $"adaptors.{t.Name}.feat_mlp", patches);                             // (B, h*w, Cf)
                f = b.Transpose(f, 0, 2, 1);                                                            // (B, Cf, h*w)
                batchDim ??= b.Dims(features, 0, 1);
                gridDims ??= b.Dims(features, 2, 4);
                var shape = b.Concat(0, batchDim, b.Ints(cf), gridDims);
                b.Output(b.ReshapeTo(f, shape), $"{t.Name}.features", "N", cf, gridH, gridW);
            }
        }
        // training-only state: the normalizers (already folded) and the loss balancer
        w.MarkUsed("normalizers");
        w.MarkUsed("balancer");
        w.EnsureAllParametersUsed(name);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            ["condense.model"] = name,
            ["condense.input"] = dynamic ? $"RGB in [0, 1], any H, W (multiples of {stride}); exported at {height}x{width}" : $"RGB in [0, 1], {height}x{width}",
            ["condense.teachers"] = string.Join(",", model.Teachers.Select(t => t.Name)),
        };
        return b.Build($"condense {name}: distilled student with one adaptor per teacher (outputs in teacher units)", meta);
    }

    // The MLP2 adaptor head (Mlp2): optional pre-norm, fc1, residual inner blocks, LayerNorm-GELU-Linear.
    private static string Mlp2(OnnxGraphBuilder b, ModuleWeights w, string p, string x)
    {
        using var scope = b.Scope(p);
        if (w.Has(p + ".pre_norm.0.weight")) x = b.Gelu(b.LayerNorm(w, p + ".pre_norm.0", x, 1e-5));
        x = b.Linear(w, p + ".fc1", x);
        for (int i = 0; w.Has($"{p}.blocks.{i}.0.weight"); i++)
            x = b.Add(x, b.Linear(w, $"{p}.blocks.{i}.2", b.Gelu(b.LayerNorm(w, $"{p}.blocks.{i}.0", x, 1e-5))));
        return b.Linear(w, p + ".final.2", b.Gelu(b.LayerNorm(w, p + ".final.0", x, 1e-5)));
    }
}
