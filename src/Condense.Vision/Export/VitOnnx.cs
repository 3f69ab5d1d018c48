// ONNX graph of the timm ViT (VisionTransformer.ForwardBackbone): patch conv, class token, position table, pre-norm
// blocks, final LayerNorm; summary = the class token, features = the patch tokens as a map. The position table is
// built for one image size, so the graph takes exactly Config.ImageSize (batch free). The pre-norm block writer is
// shared with the RADIO student (same timm Block).
using Condense.Core;
using Condense.Vision.Models;

namespace Condense.Vision.Export;

/// <summary>Writes <see cref="VisionTransformer"/> graphs.</summary>
internal sealed class VitOnnx : IOnnxBackboneWriter
{
    public bool Handles(IBackbone backbone) => backbone is VisionTransformer;

    public bool DynamicResolution(IBackbone backbone) => false;

    public OnnxBackboneValues Write(OnnxGraphBuilder b, ModuleWeights w, string prefix, IBackbone backbone, string images, int height, int width)
    {
        var c = ((VisionTransformer)backbone).Config;
        if (height != c.ImageSize || width != c.ImageSize)
            throw new InputException($"this ViT's position table is built for {c.ImageSize}x{c.ImageSize} inputs, not {height}x{width}; build it at that resolution");
        long D = c.EmbedDim, h = height / c.PatchSize, wd = width / c.PatchSize;
        string x;
        using (b.Scope(prefix + "patch_embed"))
        {
            x = b.Conv(w, prefix + "patch_embed.proj", images, stride: c.PatchSize);              // (B, D, h, w)
            x = b.Transpose(b.Reshape(x, 0, D, -1), 0, 2, 1);                                    // (B, N, D)
        }
        var cls = b.ExpandToBatch(b.Weight(prefix + "cls_token", w[prefix + "cls_token"]), images, 1, D);   // (B, 1, D)
        x = b.Add(b.Concat(1, cls, x), b.Weight(prefix + "pos_embed", w[prefix + "pos_embed"]));           // (B, 1 + N, D)
        for (int i = 0; i < c.Depth; i++) x = Block(b, w, $"{prefix}blocks.{i}", x, c.NumHeads, D);
        using (b.Scope(prefix + "norm")) x = b.LayerNorm(w, prefix + "norm", x, 1e-6);
        if (c.NumClasses > 0) w.MarkUsed(prefix + "head");   // the classifier is not part of the backbone's outputs
        var summary = b.Select(x, 1, 0);                                                          // (B, D)
        var patches = b.Slice(x, [1], [long.MaxValue], [1]);                                     // (B, N, D)
        var features = b.Reshape(b.Transpose(patches, 0, 2, 1), 0, D, h, wd);                     // (B, D, h, w)
        return new OnnxBackboneValues(summary, features);
    }

    /// <summary>timm's pre-norm Block (LayerNorm eps 1e-6): x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
    public static string Block(OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int numHeads, long dim)
    {
        using var scope = b.Scope(prefix);
        x = b.Add(x, b.Attention(w, prefix + ".attn", b.LayerNorm(w, prefix + ".norm1", x, 1e-6), numHeads, dim));
        return b.Add(x, b.Mlp(w, prefix + ".mlp", b.LayerNorm(w, prefix + ".norm2", x, 1e-6)));
    }
}
