using Condense.Core.IO;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Evaluation;

/// <summary>
/// RADIO-style visualization of spatial features: project every token onto the first three principal
/// components (fit jointly over the shown images, so colours mean the same thing across rows), clip outliers
/// robustly (median ± 2·MAD per component, as RADIO's get_robust_pca), rescale to [0, 1] and show as RGB.
/// One PNG: a row per image, a column for the input and one per feature source.
/// Deviation: PCA by eigh of the float64 covariance (TorchSharp has no pca_lowrank).
/// </summary>
public static class FeaturePca
{
    /// <summary>(B, C, h, w) → (B, 3, h, w) in [0, 1], with a PCA fitted on these features.</summary>
    public static Tensor ToRgb(Tensor features, double madMultiplier = 2.0) => ToRgb(features, features, madMultiplier);

    /// <summary>
    /// (B, C, h, w) → (B, 3, h, w) in [0, 1], projected with the PCA (and colour range) fitted on
    /// <paramref name="basis"/> (any (B', C, h', w') with the same channels): an adaptor's output shown in its
    /// teacher's colours, so equal colours mean equal features.
    /// </summary>
    public static Tensor ToRgb(Tensor features, Tensor basis, double madMultiplier = 2.0)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        static Tensor Tokens(Tensor f) => f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]).to_type(ScalarType.Float64);  // (B·h·w, C)
        long b = features.shape[0], c = features.shape[1], h = features.shape[2], w = features.shape[3];
        var reference = Tokens(basis);
        var mean = reference.mean([0], keepdim: true);
        var centered = reference - mean;
        var cov = centered.t().matmul(centered) / Math.Max(1, centered.shape[0] - 1);     // (C, C)
        var (_, vectors) = torch.linalg.eigh(cov);                                        // ascending eigenvalues
        int k = (int)Math.Min(3, c);
        var top = vectors.narrow(1, c - k, k).flip(1);                                    // (C, k) largest first
        // deterministic signs: the largest-magnitude entry of each component is positive
        var maxIdx = top.abs().argmax(0);
        var signs = top.gather(0, maxIdx.unsqueeze(0)).sign();
        top = top * torch.where(signs == 0, torch.ones_like(signs), signs);
        Tensor Project(Tensor tokens)
        {
            var p = (tokens - mean).matmul(top);                                          // (N, k)
            return k < 3 ? torch.cat([p, torch.zeros(p.shape[0], 3 - k, dtype: ScalarType.Float64)], 1) : p;
        }
        var refProjected = Project(reference);
        var median = ColumnMedian(refProjected);                                          // (3)
        var mad = ColumnMedian((refProjected - median).abs());                            // (3)
        var lo = median - madMultiplier * mad;
        var hi = median + madMultiplier * mad;
        Tensor Clip(Tensor p) => torch.maximum(torch.minimum(p, hi), lo);
        var clippedRef = Clip(refProjected);
        var min = clippedRef.amin([0], keepdim: true);
        var max = clippedRef.amax([0], keepdim: true);
        var projected = ((Clip(Project(Tokens(features))) - min) / (max - min + 1e-12)).clamp(0, 1);
        return projected.reshape(b, h, w, 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32).MoveToOuterDisposeScope();  // (B, 3, h, w)
    }

    private static Tensor ColumnMedian(Tensor x) => x.sort(0).Values[x.shape[0] / 2];

    /// <summary>Writes the comparison grid PNG (atomically).</summary>
    /// <param name="images">(B, 3, H, W) in [0, 1]: the inputs, shown in the first column.</param>
    /// <param name="sources">Named (B, C, h, w) feature maps, one column each; a source with a Basis is coloured
    /// with the PCA of that basis (e.g. an adaptor with its teacher's).</param>
    public static void WriteGrid(string path, Tensor images, IReadOnlyList<(string Name, Tensor Features, Tensor? Basis)> sources, int tile = 128)
    {
        using var scope = torch.NewDisposeScope();
        int rows = (int)images.shape[0];
        var columns = new List<(string Name, Tensor Rgb)> { ("input", images) };
        foreach (var (name, f, basis) in sources) columns.Add((name, ToRgb(f, basis ?? f)));
        const int header = 22, pad = 4;
        int width = columns.Count * (tile + pad) + pad, height = header + rows * (tile + pad) + pad;
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 12);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int c = 0; c < columns.Count; c++)
        {
            var (name, rgb) = columns[c];
            canvas.DrawText(name, pad + c * (tile + pad), 16, font, paint);
            // nearest-neighbour upsampling keeps the token grid visible
            var up = nn.functional.interpolate(rgb, [tile, tile], mode: InterpolationMode.Nearest);  // (B, 3, tile, tile)
            var bytes = (up.clamp(0, 1) * 255).round().to_type(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
            for (int r = 0; r < rows; r++)
            {
                using var cell = new SKBitmap(tile, tile, SKColorType.Rgba8888, SKAlphaType.Opaque);
                var pixels = new byte[tile * tile * 4];
                int offset = r * tile * tile * 3;
                for (int p = 0; p < tile * tile; p++)
                {
                    pixels[4 * p] = bytes[offset + 3 * p];
                    pixels[4 * p + 1] = bytes[offset + 3 * p + 1];
                    pixels[4 * p + 2] = bytes[offset + 3 * p + 2];
                    pixels[4 * p + 3] = 255;
                }
                System.Runtime.InteropServices.Marshal.Copy(pixels, 0, cell.GetPixels(), pixels.Length);
                canvas.DrawBitmap(cell, pad + c * (tile + pad), header + r * (tile + pad));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.ToArray());
    }
}
