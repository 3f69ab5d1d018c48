// ONNX graph of the AM-RADIO student ViT (RadioStudent.ForwardBackbone) at any input size that is a multiple of the
// patch size: the CLIP input conditioner, Im2Patches + the patch projection, the CPE position table resampled as in
// evaluation (bilinear, align_corners=False, to max(h, w) squared, then its top-left h x w window), summary tokens and
// registers, the blocks. Summary = every summary token concatenated, features = the patch tokens as a map.
//
// The token grid is read from the input's shape at run time (Shape, Div), so one graph serves every resolution.
// ONNX Resize (linear, half_pixel, no antialias) computes the same source coordinates as PyTorch's bilinear
// interpolate with align_corners=False, including the clamp at the borders; at the table's own size it is the
// identity, as the model's shortcut.
using Condense.Vision.Models;
using Condense.Vision.Radio;

namespace Condense.Vision.Export;

/// <summary>Writes <see cref="RadioStudent"/> graphs.</summary>
internal sealed class RadioStudentOnnx : IOnnxBackboneWriter
{
    public bool Handles(IBackbone backbone) => backbone is RadioStudent;

    public bool DynamicResolution(IBackbone backbone) => true;

    public OnnxBackboneValues Write(OnnxGraphBuilder b, ModuleWeights w, string prefix, IBackbone backbone, string images, int height, int width)
    {
        var (summary, patches, grid) = Tokens(b, w, prefix, (RadioStudent)backbone, images);
        var c = ((RadioStudent)backbone).Config;
        var flatSummary = b.Reshape(summary, 0, -1);                                                  // (B, T*D)
        return new OnnxBackboneValues(flatSummary, Map(b, patches, grid, c.EmbedDim));
    }

    /// <summary>The student's summary tokens (B, T, D), patch tokens (B, h*w, D) and the grid (h, w) as a 1-D int64 value.</summary>
    public static (string Summary, string Patches, string Grid) Tokens(OnnxGraphBuilder b, ModuleWeights w, string prefix, RadioStudent student, string images)
    {
        var c = student.Config;
        long p = c.PatchSize, D = c.EmbedDim, G = c.MaxGrid;
        string x, grid;
        x = InputConditioner(b, w, prefix, images);                                                   // (B, 3, H, W)
        using (b.Scope(prefix + "patch_generator"))
        {
            grid = b.Div(b.Dims(images, 2, 4), b.Ints(p));                                          // [h, w]
            var h = b.Slice(grid, [0], [1], [0]);
            var wd = b.Slice(grid, [1], [2], [0]);
            x = b.ReshapeTo(x, b.Concat(0, b.Ints(0, 3), h, b.Ints(p), wd, b.Ints(p)));              // (B, 3, h, p, w, p)
            x = b.Transpose(x, 0, 2, 4, 1, 3, 5);                                                    // (B, h, w, 3, p, p)
            x = b.Reshape(x, 0, -1, 3 * p * p);                                                      // (B, h*w, 3*p*p)
            x = b.Linear(w, prefix + "patch_generator.embedder", x);                                 // (B, h*w, D)

            var table = b.Weight(prefix + "patch_generator.pos_embed", w[prefix + "patch_generator.pos_embed"]);
            table = b.Transpose(b.Reshape(table, 1, G, G, D), 0, 3, 1, 2);                          // (1, D, G, G)
            var side = b.Op("Max", [h, wd]);                                                          // [max(h, w)]
            var resized = b.Op("Resize", [table, "", "", b.Concat(0, b.Ints(1, D), side, side)],
                ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel"));               // (1, D, s, s)
            var pos = b.Op("Slice", [resized, b.Ints(0, 0), grid, b.Ints(2, 3)]);                     // (1, D, h, w)
            pos = b.Transpose(b.Reshape(pos, 1, D, -1), 0, 2, 1);                                    // (1, h*w, D)
            x = b.Add(x, pos);
            if (c.NumPrefixTokens > 0)
            {
                var token = b.Weight(prefix + "patch_generator.cls_token.token", w[prefix + "patch_generator.cls_token.token"]);
                var tokens = b.ExpandToBatch(b.Reshape(token, 1, c.NumPrefixTokens, D), images, c.NumPrefixTokens, D);
                x = b.Concat(1, tokens, x);                                                           // (B, T + h*w, D)
            }
        }
        for (int i = 0; i < c.Depth; i++) x = VitOnnx.Block(b, w, $"{prefix}blocks.{i}", x, c.NumHeads, D);
        var summary = b.Slice(x, [0], [c.NumClsTokens], [1]);                                        // (B, T, D)
        var patches = b.Slice(x, [c.NumPrefixTokens], [long.MaxValue], [1]);                          // (B, h*w, D)
        return (summary, patches, grid);
    }

    /// <summary>The student's CLIP conditioner ((x - mean) / std with its buffers under <paramref name="prefix"/>).</summary>
    public static string InputConditioner(OnnxGraphBuilder b, ModuleWeights w, string prefix, string images)
    {
        using var scope = b.Scope(prefix + "input_conditioner");
        return b.Div(b.Sub(images, b.Weight(prefix + "input_conditioner.norm_mean", w[prefix + "input_conditioner.norm_mean"])),
            b.Weight(prefix + "input_conditioner.norm_std", w[prefix + "input_conditioner.norm_std"]));
    }

    /// <summary>Tokens (B, h*w, C) as a map (B, C, h, w), the grid read from a 1-D int64 value [h, w].</summary>
    public static string Map(OnnxGraphBuilder b, string tokens, string grid, long channels) =>
        b.ReshapeTo(b.Transpose(tokens, 0, 2, 1), b.Concat(0, b.Ints(0, channels), grid));
}
