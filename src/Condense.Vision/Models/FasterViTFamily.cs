// Registry entries of FasterViT-0..6 (NVlabs/FasterViT) and the tiny CPU size.
namespace Condense.Vision.Models;

internal sealed class FasterViTFamily : IBackboneFamily
{
    public int Order => 2;

    public IEnumerable<RegisteredBackbone> Backbones()
    {
        var sizes = new[] { FasterViTConfig.V0, FasterViTConfig.V1, FasterViTConfig.V2, FasterViTConfig.V3, FasterViTConfig.V4, FasterViTConfig.V5, FasterViTConfig.V6 };
        for (int i = 0; i < sizes.Length; i++)
            yield return Entry($"fastervit_{i}", sizes[i], $"NVlabs/FasterViT faster_vit_{i}_224");
        yield return Entry("fastervit_micro", FasterViTConfig.Micro, "not a reference model: tiny FasterViT for CPU tests and distillation");
    }

    private static RegisteredBackbone Entry(string name, FasterViTConfig config, string reference) =>
        new(new ModelInfo(name, "fastervit", config.ParameterCount(), config.Resolution, config.NumClasses, 32, reference),
            o => new FasterViT(config with
            {
                Resolution = o.Resolution ?? config.Resolution,
                NumClasses = o.NumClasses ?? config.NumClasses,
            }));
}
