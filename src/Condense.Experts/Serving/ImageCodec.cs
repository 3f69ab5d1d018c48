// PNG data URLs to and from the (3, S, S) float images the VLM reads: what the chat API carries (OpenAI's image_url
// content parts) and what the demo page shows.
using Condense.Core;
using SkiaSharp;

namespace Condense.Experts.Serving;

/// <summary>PNG encoding and data-URL decoding of channel-major RGB images in [0, 1].</summary>
public static class ImageCodec
{
    /// <summary>PNG bytes of a (3, S, S) image.</summary>
    public static byte[] Png(float[] image, int pixels)
    {
        using var bitmap = new SKBitmap(pixels, pixels, SKColorType.Rgba8888, SKAlphaType.Opaque);
        int plane = pixels * pixels;
        for (int v = 0; v < pixels; v++)
            for (int u = 0; u < pixels; u++)
            {
                int p = v * pixels + u;
                bitmap.SetPixel(u, v, new SKColor(Byte(image[p]), Byte(image[plane + p]), Byte(image[2 * plane + p])));
            }
        using var encoded = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    /// <summary>A data URL (data:image/png;base64,...) of a (3, S, S) image.</summary>
    public static string DataUrl(float[] image, int pixels) => "data:image/png;base64," + Convert.ToBase64String(Png(image, pixels));

    /// <summary>
    /// The (3, S, S) image in a data URL; <see cref="InputException"/> when it is not a base64 data URL of a decodable
    /// image or its size is not <paramref name="pixels"/> square.
    /// </summary>
    public static float[] FromDataUrl(string url, int pixels)
    {
        const string marker = ";base64,";
        int at = url.IndexOf(marker, StringComparison.Ordinal);
        if (!url.StartsWith("data:image/", StringComparison.Ordinal) || at < 0)
            throw new InputException("image_url must be a base64 data URL (data:image/png;base64,...)");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(url[(at + marker.Length)..]);
        }
        catch (FormatException)
        {
            throw new InputException("image_url's base64 payload is not valid base64");
        }
        using var bitmap = SKBitmap.Decode(bytes) ?? throw new InputException("image_url does not hold a decodable image (PNG or JPEG)");
        if (bitmap.Width != pixels || bitmap.Height != pixels)
            throw new InputException($"the image is {bitmap.Width}x{bitmap.Height}; the model takes {pixels}x{pixels} (a slice rendered by GET /api/slice)");
        int plane = pixels * pixels;
        var image = new float[3 * plane];
        for (int v = 0; v < pixels; v++)
            for (int u = 0; u < pixels; u++)
            {
                var c = bitmap.GetPixel(u, v);
                int p = v * pixels + u;
                image[p] = c.Red / 255f;
                image[plane + p] = c.Green / 255f;
                image[2 * plane + p] = c.Blue / 255f;
            }
        return image;
    }

    private static byte Byte(float x) => (byte)Math.Clamp((int)Math.Round(x * 255), 0, 255);
}
