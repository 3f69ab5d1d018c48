// ONNX graph of E-RADIO (ERadio.ForwardBackbone, eval mode): the Conv2d_BN/ReLU stem, the two C2f conv stages, the
// multi-resolution windowed attention stages (2x-subsampled block then full-resolution block with pre-conv in
// stage 2, full-resolution blocks in stage 3), the strided Conv2d_BN downsamplers, the high-resolution neck (nearest
// upsample, depthwise 3x3, BN, 1x1, summed on the stride-16 grid) and the final BatchNorm + average pool.
// Summary = norm(last map).mean over H, W; features = the neck output (B, NeckDim, H/16, W/16).
//
// Every spatial size, padding, window count and resize target is computed here from the export size, following the
// forward's arithmetic; the window follows the model's rule (ERadioConfig.OptimalWindowSize of the smaller side when
// AdaptWindow, else the model's current window). The SwinV2 position bias of each attention block depends only on
// the window, so it is evaluated at export (cpb_mlp under no_grad) and stored as a constant (1, heads, k*k, k*k).
//
// Deviations: the graph is fixed to the export resolution (batch free); the position biases are constants.
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>Writes <see cref="ERadio"/> graphs.</summary>
internal sealed class ERadioOnnx : IOnnxBackboneWriter
{
    // BatchNorm2d and LayerNorm defaults in the model (TorchSharp's eps 1e-5).
    private const double BnEps = 1e-5;
    private const double LnEps = 1e-5;

    public bool Handles(IBackbone backbone) => backbone is ERadio;

    public bool DynamicResolution(IBackbone backbone) => false;

    public OnnxBackboneValues Write(OnnxGraphBuilder b, ModuleWeights w, string prefix, IBackbone backbone, string images, int height, int width)
    {
        var model = (ERadio)backbone;
        var c = model.Config;
        int window = model.AdaptWindow ? ERadioConfig.OptimalWindowSize(Math.Min(height, width)) : model.Window;

        // stem: two 3x3 stride-2 Conv2d_BN + ReLU
        string x;
        long H = height, W = width;
        using (b.Scope(prefix + "patch_embed"))
        {
            x = b.Relu(ConvBN(b, w, $"{prefix}patch_embed.conv_down.0", images, 3, 2, 1));
            (H, W) = (ConvOut(H, 3, 2, 1), ConvOut(W, 3, 2, 1));
            x = b.Relu(ConvBN(b, w, $"{prefix}patch_embed.conv_down.2", x, 3, 2, 1));
            (H, W) = (ConvOut(H, 3, 2, 1), ConvOut(W, 3, 2, 1));                                // (B, dim, H/4, W/4)
        }

        var stages = new List<(string Map, long H, long W)>();
        for (int i = 0; i < 4; i++)
        {
            string level = $"{prefix}levels.{i}";
            using (b.Scope(level))
            {
                long dim = c.StageDim(i);
                string map;
                if (i < 2) map = C2f(b, w, level + ".blocks", x, dim, c.Depths[i]);             // (B, dim, H, W)
                else map = AttentionStage(b, w, level, x, c, i, window, H, W);                  // (B, dim, H, W)
                stages.Add((map, H, W));
                if (i < 3)
                {
                    x = ConvBN(b, w, level + ".downsample.reduction", map, 3, 2, 1);             // (B, 2 dim, H/2, W/2)
                    (H, W) = (ConvOut(H, 3, 2, 1), ConvOut(W, 3, 2, 1));
                }
                else x = map;
            }
        }

        var features = Neck(b, w, prefix + "high_res_neck", stages, c);                         // (B, NeckDim, H/16, W/16)

        string summary;
        using (b.Scope(prefix + "norm"))
        {
            summary = b.BatchNorm(w, prefix + "norm", x, BnEps);
            summary = b.Op("ReduceMean", [summary], ("axes", new long[] { 2, 3 }), ("keepdims", 0L));   // (B, 8 dim)
        }
        if (c.NumClasses > 0) w.MarkUsed(prefix + "head");   // the classifier is not part of the backbone's outputs
        return new OnnxBackboneValues(summary, features);
    }

    /// <summary>Output size of a convolution along one axis.</summary>
    private static long ConvOut(long n, long kernel, long stride, long padding) => (n + 2 * padding - kernel) / stride + 1;

    /// <summary>Conv2d (no bias) then BatchNorm2d: the reference's Conv2d_BN (`conv`, `bn`).</summary>
    private static string ConvBN(OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int kernel, int stride, int padding)
    {
        if (w[prefix + ".conv.weight"].shape[2] != kernel)
            throw new InvalidOperationException($"{prefix}.conv is not a {kernel}x{kernel} conv (ONNX exporter and model disagree)");
        return b.BatchNorm(w, prefix + ".bn", b.Conv(w, prefix + ".conv", x, stride: stride, padding: padding), BnEps);
    }

    /// <summary>YOLOv8 Conv: Conv2d_BN then SiLU.</summary>
    private static string ConvBNSilu(OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int kernel, int padding) =>
        b.Silu(ConvBN(b, w, prefix, x, kernel, 1, padding));

    /// <summary>C2f: cv1, split in two halves, n bottlenecks chained on the second, concat all, cv2.</summary>
    private static string C2f(OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, long dim, int n)
    {
        using var scope = b.Scope(prefix);
        long half = dim / 2;
        var y = ConvBNSilu(b, w, prefix + ".cv1", x, 1, 0);                                      // (B, 2c, H, W)
        var parts = b.OpN("Split", [y, b.Ints(half, half)], 2, ("axis", 1L)).ToList();           // 2 x (B, c, H, W)
        for (int j = 0; j < n; j++)
        {
            string m = $"{prefix}.m.{j}";
            using (b.Scope(m))
            {
                var last = parts[^1];
                var z = ConvBNSilu(b, w, m + ".cv2", ConvBNSilu(b, w, m + ".cv1", last, 3, 1), 3, 1);
                parts.Add(b.Add(last, z));                                                       // (B, c, H, W)
            }
        }
        return ConvBNSilu(b, w, prefix + ".cv2", b.Concat(1, [.. parts]), 1, 0);                 // (B, dim, H, W)
    }

    /// <summary>
    /// An attention stage (2 or 3) before its downsampler: resized (nearest) up to a multiple of the largest
    /// subsampling x window, the multi-resolution attention layers, resized back.
    /// </summary>
    private static string AttentionStage(OnnxGraphBuilder b, ModuleWeights w, string level, string x, ERadioConfig c, int stage,
        int window, long H, long W)
    {
        var sr = ERadioConfig.SrRatio(stage);
        long m = (long)sr.Max() * window;
        long h = H, wd = W;
        if (H % m != 0 || W % m != 0)
        {
            (h, wd) = ((H + m - 1) / m * m, (W + m - 1) / m * m);
            x = b.ResizeNearest(x, h, wd);                                                       // (B, C, h, w)
        }
        for (int j = 0; j < c.Depths[stage]; j++)
            for (int a = 0; a < sr.Count; a++)
                (x, h, wd) = AttentionBlock(b, w, $"{level}.blocks.{j}.attention_blocks.{a}", x, c, stage, window, sr[a], h, wd);
        if (h != H || wd != W) x = b.ResizeNearest(x, H, W);                                     // (B, C, H, W)
        return x;
    }

    /// <summary>GRAAttentionBlock on a (B, C, H, W) map; returns the map and its (unchanged) size.</summary>
    private static (string, long, long) AttentionBlock(OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, ERadioConfig c,
        int stage, int k, int subsample, long H, long W)
    {
        using var scope = b.Scope(prefix);
        long C = c.StageDim(stage);
        int heads = c.NumHeads[stage];
        var skip = x;
        long h = H, wd = W;
        if (subsample == 1) x = b.Add(ConvBN(b, w, prefix + ".pre_conv", x, 3, 1, 1), skip);
        else
        {
            x = b.Conv(w, prefix + ".downsample_op", x, stride: subsample);                       // (B, C, H/sr, W/sr)
            (h, wd) = (ConvOut(h, subsample, subsample, 0), ConvOut(wd, subsample, subsample, 0));
        }

        // windows of k x k, reflect-padded to a multiple of k: (B*nW, k*k, C)
        long padH = (k - h % k) % k, padW = (k - wd % k) % k;
        if (padH > 0 || padW > 0) x = b.PadBottomRight(x, padH, padW, reflect: true);
        long hp = h + padH, wp = wd + padW;
        var t = b.Reshape(x, 0, C, hp / k, k, wp / k, k);                                          // (B, C, nWy, k, nWx, k)
        t = b.Transpose(t, 0, 2, 4, 3, 5, 1);                                                      // (B, nWy, nWx, k, k, C)
        t = b.Reshape(t, -1, (long)k * k, C);                                                      // (B*nW, k*k, C)

        string bias;
        string biasPath = prefix + ".attn.pos_emb_funct";
        using (NewDisposeScope())
        using (no_grad())
            bias = b.Weight(biasPath + ".bias", w.Module<SwinV2PositionBias>(biasPath).Bias(k, k, 0));   // (1, nh, k*k, k*k)
        w.MarkUsed(biasPath);

        var attn = b.Attention(w, prefix + ".attn", b.LayerNorm(w, prefix + ".norm1", t, LnEps), heads, C, bias);
        t = b.Add(t, LayerScale(b, w, prefix + ".gamma1", attn));
        var mlp = b.Mlp(w, prefix + ".mlp", b.LayerNorm(w, prefix + ".norm2", t, LnEps));
        t = b.Add(t, LayerScale(b, w, prefix + ".gamma2", mlp));

        x = b.Reshape(t, -1, hp / k, wp / k, k, k, C);                                             // (B, nWy, nWx, k, k, C)
        x = b.Transpose(x, 0, 5, 1, 3, 2, 4);                                                      // (B, C, nWy, k, nWx, k)
        x = b.Reshape(x, 0, C, hp, wp);                                                            // (B, C, hp, wp)
        if (hp > h || wp > wd) x = b.Slice(x, [0, 0], [h, wd], [2, 3]);                            // (B, C, h, w)

        if (subsample > 1)
        {
            x = b.ConvTranspose(w, prefix + ".upsample_op", x, subsample);                         // (B, C, h*sr, w*sr)
            var kernel = w[prefix + ".upsample_op.weight"].shape[2];
            (h, wd) = ((h - 1) * subsample + kernel, (wd - 1) * subsample + kernel);
        }
        if (h != H || wd != W)
        {
            long ch = Math.Min(h, H), cw = Math.Min(wd, W);
            if (ch < h || cw < wd) x = b.Slice(x, [0, 0], [ch, cw], [2, 3]);
            if (ch < H || cw < W) x = b.PadBottomRight(x, H - ch, W - cw, reflect: true);          // (B, C, H, W)
        }
        return (b.Add(b.Scale(x, 0.5), b.Scale(skip, 0.5)), H, W);
    }

    /// <summary>y * gamma when the block has that layer scale, else y.</summary>
    private static string LayerScale(OnnxGraphBuilder b, ModuleWeights w, string name, string y) =>
        w.Has(name) ? b.Mul(y, b.Weight(name, w[name])) : y;

    /// <summary>HiResNeck: each stage from NeckStartStage upsampled (nearest) and projected, cropped/zero-padded, summed.</summary>
    private static string Neck(OnnxGraphBuilder b, ModuleWeights w, string prefix, List<(string Map, long H, long W)> stages, ERadioConfig c)
    {
        using var scope = b.Scope(prefix);
        string? full = null;
        long fullH = 0, fullW = 0;
        int ratio = 1;
        for (int i = c.NeckStartStage; i < 4; i++)
        {
            var (x, h, wd) = stages[i];
            string p = $"{prefix}.neck_features_proj.{i - c.NeckStartStage}";
            using (b.Scope(p))
            {
                if (ratio > 1)
                {
                    (h, wd) = (h * ratio, wd * ratio);
                    x = b.ResizeNearest(x, h, wd);                                                 // (B, C, rH, rW)
                }
                if (w.Has(p + ".conv1.weight"))
                {
                    long d = c.StageDim(i);
                    x = b.Conv(w, p + ".conv1", x, padding: 1, groups: (int)d);
                    x = b.BatchNorm(w, p + ".norm", x, BnEps);
                    x = b.Conv(w, p + ".conv2", x);                                                // (B, NeckDim, h, w)
                }
                if (full is null) (full, fullH, fullW) = (x, h, wd);
                else
                {
                    long ch = Math.Min(h, fullH), cw = Math.Min(wd, fullW);
                    if (ch < h || cw < wd) x = b.Slice(x, [0, 0], [ch, cw], [2, 3]);
                    if (ch < fullH || cw < fullW) x = b.PadBottomRight(x, fullH - ch, fullW - cw);   // zeros, as F.pad
                    full = b.Add(full, x);
                }
            }
            if (i > 0) ratio *= 2;
        }
        return full!;
    }
}
