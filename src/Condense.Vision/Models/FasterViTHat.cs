// Hierarchical Attention (HAT) block of FasterViT (arXiv:2306.06189, section 3.2). Reference: NVlabs/FasterViT
// fastervit/models/faster_vit.py and faster_vit_any_res.py (HAT, ct_dewindow, ct_window). Per block:
//   x  += pos_embed(x)                                   window tokens (B*nW, k*k, C)
//   with carrier tokens ct (B, nW * c*c, C), window-major:
//     ct  = dewindow(ct) (raster order), + hat_pos_embed (square grids only, as the any-res reference)
//     ct += g1 * hat_attn(hat_norm1(ct))                 global attention among all carrier tokens of the image
//     ct += g2 * hat_mlp(hat_norm2(ct))
//     x   = [window(ct) ; x]                             each window's c*c carriers before its k*k tokens
//   x += g3 * attn(norm1(x)); x += g4 * mlp(norm2(x))    window attention over carriers + local tokens
//   split carriers off again; in the stage's last block with do_propagation:
//     x += g1 * nearest_upsample(carriers of the window, k x k)   (the reference reuses gamma1 here)
// State-dict names as the reference: pos_embed, norm1, attn, norm2, mlp, gamma3, gamma4 and, with carriers,
// hat_norm1, hat_norm2, hat_attn, hat_mlp, hat_pos_embed, gamma1, gamma2 (gammas only with layer scale).
//
// Deviations:
// - The carrier grid may be rectangular (any-resolution input); ct_window is implemented as the exact inverse of
//   ct_dewindow, where the reference's ct_window views a non-square grid with its axis counts swapped (identical
//   for square grids, the only ones the 224-px models see).
// - No dropout or stochastic depth.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>One HAT block: window tokens (B*nW, k*k, C) and optional carrier tokens (B, nW*c*c, C).</summary>
internal sealed class FasterViTHat : Module
{
    private readonly PositionMlp2D pos_embed;
    private readonly LayerNorm norm1;
    private readonly FasterViTWindowAttention attn;
    private readonly LayerNorm norm2;
    private readonly FasterViTMlp mlp;
    private readonly Parameter? gamma3;
    private readonly Parameter? gamma4;
    private readonly LayerNorm? hat_norm1;
    private readonly LayerNorm? hat_norm2;
    private readonly FasterViTWindowAttention? hat_attn;
    private readonly FasterViTMlp? hat_mlp;
    private readonly PositionMlp2D? hat_pos_embed;
    private readonly Parameter? gamma1;
    private readonly Parameter? gamma2;
    private readonly int window;
    private readonly int ct;
    private readonly bool propagate;

    /// <param name="srRatio">Windows per side at construction (carrier tokens exist when it is above 1).</param>
    /// <param name="last">Whether this is the stage's last block (propagation happens there).</param>
    public FasterViTHat(int dim, int numHeads, double mlpRatio, bool qkvBias, int srRatio, int window, bool last,
        double? layerScale, int ctSize, bool doPropagation) : base("HAT")
    {
        this.window = window;
        ct = ctSize;
        bool carriers = srRatio > 1;
        int perWindow = carriers ? ctSize * ctSize : 0, total = perWindow * srRatio * srRatio;
        int hidden = (int)(dim * mlpRatio);
        pos_embed = new PositionMlp2D(dim, window * window);
        norm1 = LayerNorm(dim);
        attn = new FasterViTWindowAttention(dim, numHeads, qkvBias, window, window * window + perWindow);
        norm2 = LayerNorm(dim);
        mlp = new FasterViTMlp(dim, hidden);
        if (layerScale is double ls)
        {
            gamma3 = Parameter(ones(dim) * ls);
            gamma4 = Parameter(ones(dim) * ls);
        }
        if (carriers)
        {
            hat_norm1 = LayerNorm(dim);
            hat_norm2 = LayerNorm(dim);
            hat_attn = new FasterViTWindowAttention(dim, numHeads, qkvBias, (int)Math.Sqrt(total), total);
            hat_mlp = new FasterViTMlp(dim, hidden);
            hat_pos_embed = new PositionMlp2D(dim, total);
            if (layerScale is double ls2)
            {
                gamma1 = Parameter(ones(dim) * ls2);
                gamma2 = Parameter(ones(dim) * ls2);
            }
        }
        propagate = last && doPropagation;
        RegisterComponents();
    }

    /// <summary>Whether this block carries tokens (built with more than one window per side).</summary>
    public bool HasCarriers => hat_attn is not null;

    private static Tensor Scale(Tensor x, Parameter? gamma) => gamma is null ? x : x * gamma;

    /// <param name="x">Window tokens (B*nW, k*k, C).</param>
    /// <param name="carriers">Carrier tokens (B, nW*c*c, C), window-major, or null without HAT.</param>
    /// <param name="windowsH">Windows per column (nWy).</param>
    /// <param name="windowsW">Windows per row (nWx).</param>
    public (Tensor X, Tensor? Carriers) Forward(Tensor x, Tensor? carriers, int windowsH, int windowsW)
    {
        using var scope = NewDisposeScope();
        long Bw = x.shape[0], C = x.shape[2];
        x = pos_embed.call(x, window, window);                                                 // (B*nW, k*k, C)
        Tensor? ct2 = null;
        if (hat_attn is not null)
        {
            if (carriers is null) throw new ArgumentException("a HAT block with carrier tokens got none");
            long B = carriers.shape[0];
            int Hc = windowsH * ct, Wc = windowsW * ct;
            var g = carriers.view(B, windowsH, windowsW, ct, ct, C).permute(0, 1, 3, 2, 4, 5)
                .reshape(B, Hc * Wc, C);                                                        // raster (B, Hc*Wc, C)
            if (Hc == Wc) g = hat_pos_embed!.call(g, Hc, Wc);
            g = g + Scale(hat_attn.call(hat_norm1!.call(g), Hc, Wc), gamma1);
            g = g + Scale(hat_mlp!.call(hat_norm2!.call(g)), gamma2);
            var windowed = g.view(B, windowsH, ct, windowsW, ct, C).permute(0, 1, 3, 2, 4, 5)
                .reshape(Bw, ct * ct, C);                                                       // (B*nW, c*c, C)
            x = cat([windowed, x], dim: 1);                                                     // (B*nW, c*c + k*k, C)
        }
        x = x + Scale(attn.call(norm1.call(x), window, window), gamma3);
        x = x + Scale(mlp.call(norm2.call(x)), gamma4);
        if (hat_attn is not null)
        {
            var ctr = x.narrow(1, 0, ct * ct);                                                  // (B*nW, c*c, C)
            x = x.narrow(1, ct * ct, window * window);                                          // (B*nW, k*k, C)
            ct2 = ctr.reshape(carriers!.shape);                                                 // (B, nW*c*c, C)
            if (propagate)
            {
                var image = ctr.transpose(1, 2).reshape(Bw, C, ct, ct);                         // (B*nW, C, c, c)
                var up = functional.interpolate(image, [window, window], mode: InterpolationMode.Nearest);
                x = x + Scale(up.flatten(2).transpose(1, 2), gamma1);                           // (B*nW, k*k, C)
            }
        }
        x = x.MoveToOuterDisposeScope();
        return (x, ct2?.MoveToOuterDisposeScope());
    }
}
