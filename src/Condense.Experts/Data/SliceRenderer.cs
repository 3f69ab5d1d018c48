// Renders what the VLM sees: a slice of the T1 as an RGB image (grey anatomy, bilinear), with intensity
// augmentation and a red annotation (a marked point or a marked square area), like a reader's mark on a viewer;
// and the experts' coloured segmentation overlays on the same view.
using Condense.Core.Data;
using Condense.Experts.Volumes;

namespace Condense.Experts.Data;

/// <summary>What is drawn on the slice.</summary>
public enum MarkerKind
{
    /// <summary>A small red cross at one voxel.</summary>
    Point,
    /// <summary>A red square outline centred at one voxel.</summary>
    Area,
}

/// <summary>A mark on the slice, in volume voxels (it lies on the slice's plane).</summary>
/// <param name="Kind">Point or area.</param>
/// <param name="I">Voxel i.</param>
/// <param name="J">Voxel j.</param>
/// <param name="K">Voxel k.</param>
/// <param name="HalfSize">Half the square's side in voxels (areas only).</param>
public sealed record Marker(MarkerKind Kind, int I, int J, int K, int HalfSize = 0);

/// <summary>Intensity augmentation: gain, gamma and Gaussian noise (drawn from <paramref name="NoiseSeed"/>).</summary>
public sealed record IntensityAugment(double Gain = 1, double Gamma = 1, double NoiseStd = 0, ulong NoiseSeed = 0)
{
    /// <summary>No change.</summary>
    public static IntensityAugment None { get; } = new();
}

/// <summary>Slice images as (3, S, S) channel-major floats in [0, 1].</summary>
public static class SliceRenderer
{
    /// <summary>The slice under <paramref name="view"/> as an RGB image <paramref name="pixels"/> wide, with an optional marker.</summary>
    public static float[] Render(BrainAtlas atlas, SliceView view, int pixels, IntensityAugment? augment = null, Marker? marker = null)
    {
        augment ??= IntensityAugment.None;
        var size = atlas.Size;
        var image = new float[3 * pixels * pixels];
        int plane = pixels * pixels;
        var rng = new SplitMix64(augment.NoiseSeed);
        for (int v = 0; v < pixels; v++)
        for (int u = 0; u < pixels; u++)
        {
            var (a, b) = view.FromPixel(u, v, pixels, size);
            double g = Sample(atlas, view, a, b) / atlas.IntensityScale;
            g = Math.Clamp(g, 0, 1);
            g = Math.Pow(g, augment.Gamma) * augment.Gain;
            if (augment.NoiseStd > 0) g += augment.NoiseStd * Gaussian(ref rng);
            float value = (float)Math.Clamp(g, 0, 1);
            int p = v * pixels + u;
            image[p] = image[plane + p] = image[2 * plane + p] = value;
        }
        if (marker is not null) DrawMarker(image, pixels, view, size, marker);
        return image;
    }

    /// <summary>
    /// The slice with each pixel's class (from <paramref name="classAt"/>, 0 = none) blended in its palette colour:
    /// an expert's segmentation shown on the anatomy.
    /// </summary>
    public static float[] RenderOverlay(BrainAtlas atlas, SliceView view, int pixels, Func<int, int, int, int> classAt, Marker? marker = null)
    {
        var image = Render(atlas, view, pixels);
        var size = atlas.Size;
        int plane = pixels * pixels;
        for (int v = 0; v < pixels; v++)
        for (int u = 0; u < pixels; u++)
        {
            var (a, b) = view.FromPixel(u, v, pixels, size);
            var (i, j, k) = view.Voxel(Math.Round(a), Math.Round(b));
            int c = classAt((int)i, (int)j, (int)k);
            if (c <= 0) continue;
            var (r, gr, bl) = Palette(c);
            int p = v * pixels + u;
            image[p] = 0.5f * image[p] + 0.5f * r;
            image[plane + p] = 0.5f * image[plane + p] + 0.5f * gr;
            image[2 * plane + p] = 0.5f * image[2 * plane + p] + 0.5f * bl;
        }
        if (marker is not null) DrawMarker(image, pixels, view, size, marker);
        return image;
    }

    /// <summary>A fixed, well-spread colour for class <paramref name="c"/> (golden-ratio hues).</summary>
    public static (float R, float G, float B) Palette(int c)
    {
        double h = (c * 0.618033988749895) % 1.0 * 6, x = 1 - Math.Abs(h % 2 - 1);
        (double r, double g, double b) = (int)h switch { 0 => (1.0, x, 0.0), 1 => (x, 1.0, 0.0), 2 => (0.0, 1.0, x), 3 => (0.0, x, 1.0), 4 => (x, 0.0, 1.0), _ => (1.0, 0.0, x) };
        return ((float)(0.2 + 0.8 * r), (float)(0.2 + 0.8 * g), (float)(0.2 + 0.8 * b));
    }

    /// <summary>The image as 8-bit RGB bytes, row-major and interleaved (for PNG encoders).</summary>
    public static byte[] ToRgbBytes(float[] image, int pixels)
    {
        int plane = pixels * pixels;
        var bytes = new byte[3 * plane];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                bytes[3 * p + c] = (byte)Math.Clamp((int)Math.Round(image[c * plane + p] * 255), 0, 255);
        return bytes;
    }

    private static double Sample(BrainAtlas atlas, SliceView view, double a, double b)
    {
        int a0 = (int)Math.Floor(a), b0 = (int)Math.Floor(b);
        double fa = a - a0, fb = b - b0, sum = 0;
        for (int db = 0; db <= 1; db++)
        for (int da = 0; da <= 1; da++)
        {
            double w = (da == 1 ? fa : 1 - fa) * (db == 1 ? fb : 1 - fb);
            if (w == 0) continue;
            var (i, j, k) = view.Voxel(a0 + da, b0 + db);
            if (atlas.T1.Contains((int)i, (int)j, (int)k)) sum += w * atlas.T1.At((int)i, (int)j, (int)k);
        }
        return sum;
    }

    private static void DrawMarker(float[] image, int pixels, SliceView view, (int X, int Y, int Z) size, Marker marker)
    {
        var (a, b) = view.InPlane(marker.I, marker.J, marker.K);
        if (marker.Kind == MarkerKind.Point)
        {
            var (u, v) = view.ToPixel(a, b, pixels, size);
            int cu = (int)Math.Round(u), cv = (int)Math.Round(v);
            foreach (var (du, dv) in new[] { (0, 0), (1, 0), (-1, 0), (0, 1), (0, -1) }) Red(image, pixels, cu + du, cv + dv);
            return;
        }
        int h = marker.HalfSize;
        var corners = new[] { (a - h, b - h), (a + h, b - h), (a + h, b + h), (a - h, b + h) }
            .Select(c => view.ToPixel(c.Item1, c.Item2, pixels, size)).ToArray();
        for (int e = 0; e < 4; e++)
        {
            var (u0, v0) = corners[e];
            var (u1, v1) = corners[(e + 1) % 4];
            int steps = (int)Math.Ceiling(Math.Max(Math.Abs(u1 - u0), Math.Abs(v1 - v0)) * 2) + 1;
            for (int s = 0; s <= steps; s++)
                Red(image, pixels, (int)Math.Round(u0 + (u1 - u0) * s / steps), (int)Math.Round(v0 + (v1 - v0) * s / steps));
        }
    }

    private static void Red(float[] image, int pixels, int u, int v)
    {
        if (u < 0 || v < 0 || u >= pixels || v >= pixels) return;
        int plane = pixels * pixels, p = v * pixels + u;
        image[p] = 1; image[plane + p] = 0; image[2 * plane + p] = 0;
    }

    private static double Gaussian(ref SplitMix64 rng)
    {
        double u1 = Math.Max(rng.NextDouble(), 1e-12), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
