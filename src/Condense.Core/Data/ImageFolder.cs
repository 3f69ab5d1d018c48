// A torchvision-style ImageFolder: root/<class>/<image>, one subfolder per class, classes sorted ordinal so the
// label of a class never depends on the machine's culture or file system order. Images are decoded with
// SkiaSharp by content (a JPEG named .png still loads), the alpha channel is dropped (as PIL's convert("RGB")
// does), and each image is resized to exactly width x height with mipmapped bilinear sampling, which
// antialiases downscales. Aspect ratio is not kept: crop beforehand if that matters.
using SkiaSharp;

namespace Condense.Core.Data;

/// <summary>A torchvision-style image folder (root/&lt;class&gt;/&lt;image&gt;) loaded as RGB images of one size.</summary>
public sealed class ImageFolder
{
    /// <summary>Extensions taken as images (case-insensitive); other files are ignored, like torchvision.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Class names (subfolder names), sorted ordinal; label i is Classes[i].</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The image files, in the order of <see cref="Data"/>.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>RGB images (3 x height x width) and their class labels.</summary>
    public LabelledImages Data { get; }

    private ImageFolder(IReadOnlyList<string> classes, IReadOnlyList<string> files, LabelledImages data) =>
        (Classes, Files, Data) = (classes, files, data);

    /// <summary>Loads every image under <paramref name="root"/>, resized to width x height.</summary>
    public static ImageFolder Load(string root, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (!Directory.Exists(root)) throw new InputException($"{root}: image folder not found");

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new InputException($"{root}: no class subfolders");

        var files = new List<string>();
        var labels = new List<long>();
        for (var c = 0; c < classes.Length; c++)
        {
            var dir = Path.Combine(root, classes[c]);
            var images = Directory.GetFiles(dir)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).ToArray();
            if (images.Length == 0) throw new InputException($"{dir}: class folder has no images");
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat((long)c, images.Length));
        }

        var imageSize = 3 * height * width;
        var pixels = new byte[(long)files.Count * imageSize];
        for (var i = 0; i < files.Count; i++)
            DecodeRgbChw(files[i], width, height, pixels.AsSpan(i * imageSize, imageSize));
        var set = new ImageSet(files.Count, 3, height, width, pixels);
        return new ImageFolder(classes, files, new LabelledImages(set, [.. labels]));
    }

    /// <summary>Decodes one image file into <paramref name="chw"/> (3 x height x width bytes, RGB planes).</summary>
    public static void DecodeRgbChw(string path, int width, int height, Span<byte> chw)
    {
        if (chw.Length != 3 * width * height)
            throw new ArgumentException($"need {3 * width * height} bytes, got {chw.Length}", nameof(chw));
        using var data = SKData.CreateCopy(DataFile.ReadBytes(path));
        using var codec = SKCodec.Create(data)
            ?? throw new InputException($"{path}: not a readable image (unknown or corrupt format)");
        // Decode straight to RGBA8888, unpremultiplied so RGB is not darkened by alpha. Anything but full
        // success (e.g. IncompleteInput for a truncated file, which Skia would otherwise pad) is an error.
        var info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
            throw new InputException($"{path}: image decode failed ({result})");
        var target = info.WithSize(width, height);
        using var resized = decoded.Resize(target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InputException($"{path}: cannot resize {decoded.Width}x{decoded.Height} to {width}x{height}");
        var rgba = resized.GetPixelSpan();
        var plane = width * height;
        var rowBytes = resized.RowBytes;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var src = y * rowBytes + 4 * x;
                var dst = y * width + x;
                chw[dst] = rgba[src];
                chw[plane + dst] = rgba[src + 1];
                chw[2 * plane + dst] = rgba[src + 2];
            }
        }
    }
}
