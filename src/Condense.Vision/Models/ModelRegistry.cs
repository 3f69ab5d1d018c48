// One registry of the vision backbones Condense can build, by name: the timm ViTs, the AM-RADIO student ViT (CPE,
// summary tokens, registers), FasterViT-0..6 and E-RADIO. Every entry builds an IBackbone (summary, dense features,
// intermediates), so any of them can be the distillation student (the distillation recipe's student.model), the
// benchmark subject (`condense bench backbones`) or listed (`condense models`).
//
// Parameter counts are computed without building the model (FasterViTConfig/ERadioConfig/VitConfig formulas,
// checked against built models in the tests), so listing the 1.36B-parameter FasterViT-6 costs nothing.
using Condense.Core;
using Condense.Vision.Radio;

namespace Condense.Vision.Models;

/// <summary>Options for building a registered backbone; null keeps the entry's default.</summary>
/// <param name="Resolution">Input side the model is built for (ViT position table, FasterViT carrier-token layout).</param>
/// <param name="NumClasses">Classifier classes (0 = no head).</param>
public sealed record BackboneOptions(int? Resolution = null, int? NumClasses = null);

/// <summary>One registered backbone.</summary>
/// <param name="Name">Registry name, e.g. fastervit_0.</param>
/// <param name="Family">vit, radio_vit, fastervit or eradio.</param>
/// <param name="Parameters">Trainable parameters as built with default options (head included where there is one).</param>
/// <param name="DefaultResolution">Input side the entry is built for by default.</param>
/// <param name="NumClasses">Classes of the default head (0: none).</param>
/// <param name="FeatureStride">Input pixels per dense-feature cell.</param>
/// <param name="Reference">Where the configuration comes from.</param>
public sealed record ModelInfo(string Name, string Family, long Parameters, int DefaultResolution, int NumClasses,
    int FeatureStride, string Reference);

/// <summary>Builds registered backbones by name.</summary>
public static class ModelRegistry
{
    private sealed record Entry(ModelInfo Info, Func<BackboneOptions, IBackbone> Create);

    private static readonly Entry[] Entries = [.. Build()];

    /// <summary>Every registered backbone, in a stable order.</summary>
    public static IReadOnlyList<ModelInfo> List() => Entries.Select(e => e.Info).ToList();

    /// <summary>Registry names.</summary>
    public static IReadOnlyList<string> Names => Entries.Select(e => e.Info.Name).ToList();

    /// <summary>Whether <paramref name="name"/> is registered.</summary>
    public static bool Contains(string name) => Entries.Any(e => e.Info.Name == name);

    /// <summary>The registry entry of <paramref name="name"/>; an unknown name is an input error listing the names.</summary>
    public static ModelInfo Info(string name) => Find(name).Info;

    /// <summary>Builds <paramref name="name"/> (current torch seed); bad names or options are input errors.</summary>
    public static IBackbone Create(string name, BackboneOptions? options = null)
    {
        var entry = Find(name);
        try
        {
            return entry.Create(options ?? new BackboneOptions());
        }
        catch (ArgumentException e)
        {
            throw new InputException($"model {name}: {e.Message}");
        }
    }

    private static Entry Find(string name) => Entries.FirstOrDefault(e => e.Info.Name == name)
        ?? throw new InputException($"unknown model '{name}' (available: {string.Join(", ", Entries.Select(e => e.Info.Name))})");

    private static IEnumerable<Entry> Build()
    {
        foreach (var (name, config) in new[] { ("vit_tiny", VitConfig.Tiny), ("vit_small", VitConfig.Small), ("vit_base", VitConfig.Base) })
            yield return new Entry(new ModelInfo(name, "vit", VitParameters(config), config.ImageSize, config.NumClasses, config.PatchSize,
                    $"timm {name}_patch16_224"),
                o => new VisionTransformer(config with
                {
                    ImageSize = o.Resolution ?? config.ImageSize,
                    NumClasses = o.NumClasses ?? config.NumClasses,
                }));

        var radio = new RadioStudentConfig();
        yield return new Entry(new ModelInfo("radio_vit", "radio_vit", RadioStudentParameters(radio), radio.MaxResolution, 0, radio.PatchSize,
                "AM-RADIO student ViT (CPE, summary token, registers) at condense's default distillation size"),
            o => new RadioStudent(radio with { MaxResolution = Math.Max(radio.MaxResolution, o.Resolution ?? 0) }));

        var fastervit = new[] { FasterViTConfig.V0, FasterViTConfig.V1, FasterViTConfig.V2, FasterViTConfig.V3, FasterViTConfig.V4, FasterViTConfig.V5, FasterViTConfig.V6 };
        for (int i = 0; i < fastervit.Length; i++)
            yield return FasterViTEntry($"fastervit_{i}", fastervit[i], $"NVlabs/FasterViT faster_vit_{i}_224");
        yield return FasterViTEntry("fastervit_micro", FasterViTConfig.Micro, "not a reference model: tiny FasterViT for CPU tests and distillation");

        yield return ERadioEntry("eradio", ERadioConfig.Large, "NVlabs/RADIO eradio (fastervit2_large_fullres_ws16)");
        yield return ERadioEntry("eradio_xxxtiny", ERadioConfig.XxxTiny, "NVlabs/RADIO eradio_xxxtiny");
        yield return ERadioEntry("eradio_xt", ERadioConfig.Xt, "AM-RADIO paper XT size (dim 64, depths 1-3-4-5) with eradio settings; no released weights");
        yield return ERadioEntry("eradio_micro", ERadioConfig.Micro, "not a reference model: tiny E-RADIO for CPU tests and distillation");
    }

    private static Entry FasterViTEntry(string name, FasterViTConfig config, string reference) =>
        new(new ModelInfo(name, "fastervit", config.ParameterCount(), config.Resolution, config.NumClasses, 32, reference),
            o => new FasterViT(config with
            {
                Resolution = o.Resolution ?? config.Resolution,
                NumClasses = o.NumClasses ?? config.NumClasses,
            }));

    private static Entry ERadioEntry(string name, ERadioConfig config, string reference) =>
        new(new ModelInfo(name, "eradio", config.ParameterCount(), 224, config.NumClasses, 16, reference),
            o => new ERadio(config with { NumClasses = o.NumClasses ?? config.NumClasses }));

    /// <summary>timm ViT parameters: patch embedding, class token, position table, blocks, final norm, head.</summary>
    public static long VitParameters(VitConfig c)
    {
        long d = c.EmbedDim, h = c.MlpHiddenDim;
        long block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
        return (long)c.InChannels * c.PatchSize * c.PatchSize * d + d + d + (c.NumPatches + 1) * d
            + c.Depth * block + 2 * d + (c.NumClasses > 0 ? d * c.NumClasses + c.NumClasses : 0);
    }

    private static long RadioStudentParameters(RadioStudentConfig c)
    {
        long d = c.EmbedDim, h = c.MlpHiddenDim;
        long block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
        return 3L * c.PatchSize * c.PatchSize * d + (long)c.MaxGrid * c.MaxGrid * d + c.NumPrefixTokens * d + c.Depth * block;
    }
}
