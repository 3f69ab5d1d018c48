// Registry entries of the timm ViTs (vit_tiny/small/base, patch 16, 224 px).
namespace Condense.Vision.Models;

internal sealed class VitFamily : IBackboneFamily
{
    public int Order => 0;

    public IEnumerable<RegisteredBackbone> Backbones()
    {
        foreach (var (name, config) in new[] { ("vit_tiny", VitConfig.Tiny), ("vit_small", VitConfig.Small), ("vit_base", VitConfig.Base) })
            yield return new RegisteredBackbone(new ModelInfo(name, "vit", Parameters(config), config.ImageSize, config.NumClasses, config.PatchSize,
                    $"timm {name}_patch16_224"),
                o => new VisionTransformer(config with
                {
                    ImageSize = o.Resolution ?? config.ImageSize,
                    NumClasses = o.NumClasses ?? config.NumClasses,
                    PatchSize = o.Vit?.PatchSize ?? config.PatchSize,
                    EmbedDim = o.Vit?.EmbedDim ?? config.EmbedDim,
                    Depth = o.Vit?.Depth ?? config.Depth,
                    NumHeads = o.Vit?.NumHeads ?? config.NumHeads,
                    MlpRatio = o.Vit?.MlpRatio ?? config.MlpRatio,
                }));
    }

    /// <summary>timm ViT parameters: patch embedding, class token, position table, blocks, final norm, head.</summary>
    public static long Parameters(VitConfig c)
    {
        long d = c.EmbedDim, h = c.MlpHiddenDim;
        long block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
        return (long)c.InChannels * c.PatchSize * c.PatchSize * d + d + d + (c.NumPatches + 1) * d
            + c.Depth * block + 2 * d + (c.NumClasses > 0 ? d * c.NumClasses + c.NumClasses : 0);
    }
}
