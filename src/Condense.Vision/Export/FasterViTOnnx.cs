// ONNX graph of FasterViT (FasterViT.ForwardBackbone, eval mode): conv stem, conv stages, HAT stages over k x k windows
// with carrier tokens, the final BatchNorm; summary = the pooled last map, features = that map (stride 32).
//
// What is computed at export rather than in the graph: every spatial size (stem and downsampler outputs, window
// padding, window and carrier-token counts, the carrier pooling kernel), the SwinV2 position biases of the window and
// carrier attentions, and the position MLPs' outputs (pos_embed, hat_pos_embed), which depend only on the grid. Their
// cpb_mlp weights are therefore not in the graph; the biases they produce are.
//
// Deviations: the graph is fixed to the export resolution (batch free): which stages carry tokens, and the carrier
// grid, follow the input size in the model.
using Condense.Core;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>Writes <see cref="FasterViT"/> graphs.</summary>
internal sealed class FasterViTOnnx : IOnnxBackboneWriter
{
    public bool Handles(IBackbone backbone) => backbone is FasterViT;

    public bool DynamicResolution(IBackbone backbone) => false;

    public OnnxBackboneValues Write(OnnxGraphBuilder b, ModuleWeights w, string prefix, IBackbone backbone, string images, int height, int width)
    {
        var c = ((FasterViT)backbone).Config;
        if (height <= 0 || width <= 0) throw new InputException($"FasterViT export size {height}x{width} is not positive");
        string x;
        long H = height, W = width;
        using (b.Scope(prefix + "patch_embed"))
        {
            x = b.Relu(b.BatchNorm(w, prefix + "patch_embed.conv_down.1", b.Conv(w, prefix + "patch_embed.conv_down.0", images, 2, 1), 1e-4));
            x = b.Relu(b.BatchNorm(w, prefix + "patch_embed.conv_down.4", b.Conv(w, prefix + "patch_embed.conv_down.3", x, 2, 1), 1e-4));
            (H, W) = (Half(Half(H)), Half(Half(W)));                                            // (B, dim, H/4, W/4)
        }
        for (int stage = 0; stage < 4; stage++)
        {
            string p = $"{prefix}levels.{stage}";
            using var scope = b.Scope(p);
            long C = c.StageDim(stage);
            if (stage < 2)
                for (int j = 0; j < c.Depths[stage]; j++) x = ConvBlock(b, w, $"{p}.blocks.{j}", x);
            else
                x = HatStage(b, w, p, c, stage, x, C, H, W);
            if (stage < 3)
            {
                x = b.Conv(w, p + ".downsample.reduction.0", b.LayerNorm2d(w, p + ".downsample.norm", x, 1e-6), 2, 1);   // (B, 2C, H/2, W/2)
                (H, W) = (Half(H), Half(W));
            }
        }
        string features;
        using (b.Scope(prefix + "norm")) features = b.BatchNorm(w, prefix + "norm", x, 1e-5);                     // (B, 8*dim, H/32, W/32)
        if (c.NumClasses > 0) w.MarkUsed(prefix + "head");   // the classifier is not part of the backbone's outputs
        var summary = b.Reshape(b.Op("GlobalAveragePool", [features]), 0, -1);                                   // (B, 8*dim)
        return new OnnxBackboneValues(summary, features);
    }

    // A 3x3 stride-2 convolution with padding 1: ceil(n / 2).
    private static long Half(long n) => (n - 1) / 2 + 1;

    private static string ConvBlock(OnnxGraphBuilder b, ModuleWeights w, string p, string x)
    {
        using var scope = b.Scope(p);
        var y = b.Gelu(b.BatchNorm(w, p + ".norm1", b.Conv(w, p + ".conv1", x, 1, 1), 1e-5));
        y = b.BatchNorm(w, p + ".norm2", b.Conv(w, p + ".conv2", y, 1, 1), 1e-5);                             // (B, C, H, W)
        if (w.Has(p + ".gamma")) y = b.Mul(y, b.Weight(p + ".gamma", w[p + ".gamma"].view(1, -1, 1, 1)));
        return b.Add(x, y);
    }

    // FasterViTLayer.Forward for a transformer stage: pad to whole windows, carrier tokens, HAT blocks, crop.
    private static string HatStage(OnnxGraphBuilder b, ModuleWeights w, string p, FasterViTConfig c, int stage, string x, long C, long H, long W)
    {
        int k = c.WindowSize[stage], ct = c.CtSize;
        long padB = (k - H % k) % k, padR = (k - W % k) % k, Hp = H + padB, Wp = W + padR, nH = Hp / k, nW = Wp / k;
        if (padB > 0 || padR > 0) x = b.PadBottomRight(x, padB, padR);                                        // (B, C, Hp, Wp)
        string? carriers = null;
        if (w.Has(p + ".global_tokenizer.pos_embed.weight"))
        {
            using var scope = b.Scope(p + ".global_tokenizer");
            var (kh, sh, Hc) = FasterViTTokenInitializer.Pool(Hp, k, ct);
            var (kw, sw, Wc) = FasterViTTokenInitializer.Pool(Wp, k, ct);
            var g = b.Conv(w, p + ".global_tokenizer.pos_embed", x, 1, 1, (int)C);
            g = b.Op("AveragePool", [g], ("kernel_shape", new[] { kh, kw }), ("strides", new[] { sh, sw }));   // (B, C, Hc, Wc)
            g = b.Transpose(b.Reshape(g, 0, C, Hc / ct, ct, Wc / ct, ct), 0, 2, 4, 3, 5, 1);                  // (B, nWy, nWx, ct, ct, C)
            carriers = b.Reshape(g, 0, Hc * Wc, C);                                                             // (B, nW*ct^2, C)
        }
        var t = b.Transpose(b.Reshape(x, 0, C, nH, k, nW, k), 0, 2, 4, 3, 5, 1);
        t = b.Reshape(t, -1, k * k, C);                                                                         // (B*nW, k*k, C)
        for (int j = 0; j < c.Depths[stage]; j++)
            (t, carriers) = Hat(b, w, $"{p}.blocks.{j}", c, stage, t, carriers, (int)nH, (int)nW, last: j == c.Depths[stage] - 1);
        x = b.Transpose(b.Reshape(t, -1, nH, nW, k, k, C), 0, 5, 1, 3, 2, 4);
        x = b.Reshape(x, -1, C, Hp, Wp);                                                                        // (B, C, Hp, Wp)
        return padB > 0 || padR > 0 ? b.Slice(x, [0, 0], [H, W], [2, 3]) : x;                                 // (B, C, H, W)
    }

    // FasterViTHat.Forward: window tokens (B*nW, k*k, C) and carriers (B, nW*c*c, C) or null.
    private static (string X, string? Carriers) Hat(OnnxGraphBuilder b, ModuleWeights w, string p, FasterViTConfig c, int stage,
        string x, string? carriers, int nH, int nW, bool last)
    {
        using var scope = b.Scope(p);
        int k = c.WindowSize[stage], ct = c.CtSize, heads = c.NumHeads[stage];
        long C = c.StageDim(stage);
        x = b.Add(x, PositionMlp(b, w, p + ".pos_embed", k, k, C));                                           // (B*nW, k*k, C)
        bool hat = w.Has(p + ".hat_attn.qkv.weight");
        if (hat)
        {
            if (carriers is null) throw new InvalidOperationException($"{p} has carrier attention but its stage made no carrier tokens");
            long Hc = (long)nH * ct, Wc = (long)nW * ct;
            var g = b.Transpose(b.Reshape(carriers, 0, nH, nW, ct, ct, C), 0, 1, 3, 2, 4, 5);
            g = b.Reshape(g, 0, Hc * Wc, C);                                                                    // raster (B, Hc*Wc, C)
            if (Hc == Wc) g = b.Add(g, PositionMlp(b, w, p + ".hat_pos_embed", (int)Hc, (int)Wc, C));
            else w.MarkUsed(p + ".hat_pos_embed");                                                              // the model skips it too
            var bias = Bias(b, w, p + ".hat_attn.pos_emb_funct", (int)Hc, (int)Wc, 0);
            g = b.Add(g, Gamma(b, w, p + ".gamma1", b.Attention(w, p + ".hat_attn", b.LayerNorm(w, p + ".hat_norm1", g, 1e-5), heads, C, bias)));
            g = b.Add(g, Gamma(b, w, p + ".gamma2", b.Mlp(w, p + ".hat_mlp", b.LayerNorm(w, p + ".hat_norm2", g, 1e-5))));
            g = b.Transpose(b.Reshape(g, 0, nH, ct, nW, ct, C), 0, 1, 3, 2, 4, 5);
            x = b.Concat(1, b.Reshape(g, -1, ct * ct, C), x);                                                 // (B*nW, c*c + k*k, C)
        }
        int prefixTokens = hat ? ct * ct : 0;
        var windowBias = Bias(b, w, p + ".attn.pos_emb_funct", k, k, prefixTokens);
        x = b.Add(x, Gamma(b, w, p + ".gamma3", b.Attention(w, p + ".attn", b.LayerNorm(w, p + ".norm1", x, 1e-5), heads, C, windowBias)));
        x = b.Add(x, Gamma(b, w, p + ".gamma4", b.Mlp(w, p + ".mlp", b.LayerNorm(w, p + ".norm2", x, 1e-5))));
        if (!hat) return (x, null);
        var ctr = b.Slice(x, [0], [prefixTokens], [1]);                                                         // (B*nW, c*c, C)
        x = b.Slice(x, [prefixTokens], [prefixTokens + (long)k * k], [1]);                                      // (B*nW, k*k, C)
        var nextCarriers = b.Reshape(ctr, -1, (long)nH * nW * ct * ct, C);                                      // (B, nW*c*c, C)
        if (last && c.DoPropagation)
        {
            var image = b.Reshape(b.Transpose(ctr, 0, 2, 1), -1, C, ct, ct);                                  // (B*nW, C, c, c)
            var up = b.ResizeNearest(image, k, k);                                                              // (B*nW, C, k, k)
            x = b.Add(x, Gamma(b, w, p + ".gamma1", b.Transpose(b.Reshape(up, 0, C, k * k), 0, 2, 1)));       // (B*nW, k*k, C)
        }
        return (x, nextCarriers);
    }

    private static string Gamma(OnnxGraphBuilder b, ModuleWeights w, string name, string x) =>
        w.Has(name) ? b.Mul(x, b.Weight(name, w[name])) : x;

    // PositionMlp2D's addition for an h x w grid, (1, h*w, C), evaluated once here.
    private static string PositionMlp(OnnxGraphBuilder b, ModuleWeights w, string path, int h, int wd, long C)
    {
        using var scope = NewDisposeScope();
        var module = w.Module<PositionMlp2D>(path);
        w.MarkUsed(path);
        return b.Weight(path + ".added", module.call(zeros(1, (long)h * wd, C), h, wd));
    }

    // SwinV2PositionBias for an h x w window after prefix tokens, (1, heads, P + h*w, P + h*w), evaluated once here.
    internal static string Bias(OnnxGraphBuilder b, ModuleWeights w, string path, int h, int wd, int prefixTokens)
    {
        using var scope = NewDisposeScope();
        var module = w.Module<SwinV2PositionBias>(path);
        w.MarkUsed(path);
        return b.Weight(path + ".bias", module.Bias(h, wd, prefixTokens));
    }
}
