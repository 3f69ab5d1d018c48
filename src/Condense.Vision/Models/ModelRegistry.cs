// One registry of the vision backbones Condense can build, by name: the timm ViTs, the AM-RADIO student ViT (CPE,
// summary tokens, registers), FasterViT-0..6 and E-RADIO. Every entry builds an IBackbone (summary, dense features,
// intermediates), so any of them can be the distillation student (the distillation recipe's student.model), the
// benchmark subject (`condense bench backbones`) or listed (`condense models`).
//
// Families register themselves, as in timm: each model family declares its entries in an IBackboneFamily beside
// its model code (ViT, the RADIO student, FasterViT, E-RADIO), and the registry finds them in the loaded assembly,
// so the registry knows no model type and a new family needs no edit here (another assembly calls Register).
//
// Parameter counts are computed without building the model (FasterViTConfig/ERadioConfig/VitConfig formulas,
// checked against built models in the tests), so listing the 1.36B-parameter FasterViT-6 costs nothing.
using Condense.Core;

namespace Condense.Vision.Models;

/// <summary>Options for building a registered backbone; null keeps the entry's default.</summary>
/// <param name="Resolution">Input side the model is built for (ViT position table, FasterViT carrier-token layout).</param>
/// <param name="NumClasses">Classifier classes (0 = no head).</param>
/// <param name="Vit">Sizes of a ViT-style family (timm's patch_size, embed_dim, depth, num_heads, mlp_ratio kwargs),
/// honoured by the families built from them (radio_vit, vit_*); hierarchical families keep their registry sizes.</param>
/// <param name="SummaryTokens">Summary tokens of a backbone that has several (the AM-RADIO student: one per teacher
/// with a summary); others pool one summary vector.</param>
public sealed record BackboneOptions(int? Resolution = null, int? NumClasses = null, VitSize? Vit = null, int? SummaryTokens = null);

/// <summary>The sizes of a plain ViT.</summary>
/// <param name="MaxResolution">Largest input side the position table covers (RADIO's CPE table); a timm ViT's
/// table is built for <see cref="BackboneOptions.Resolution"/> instead.</param>
/// <param name="NumRegisters">Register tokens (RADIO); null = the family's rule.</param>
public sealed record VitSize(int PatchSize, int EmbedDim, int Depth, int NumHeads, double MlpRatio, int MaxResolution, int? NumRegisters = null);

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

/// <summary>One registered backbone: what it is, and how to build it.</summary>
public sealed record RegisteredBackbone(ModelInfo Info, Func<BackboneOptions, IBackbone> Create);

/// <summary>
/// A model family's registry entries. Implementations in Condense.Vision are found by the registry; families in
/// other assemblies are added with <see cref="ModelRegistry.Register"/>.
/// </summary>
public interface IBackboneFamily
{
    /// <summary>Where the family's entries appear in listings (lower first).</summary>
    int Order { get; }

    /// <summary>The family's entries, in listing order.</summary>
    IEnumerable<RegisteredBackbone> Backbones();
}

/// <summary>Builds registered backbones by name.</summary>
public static class ModelRegistry
{
    private static readonly object Gate = new();
    private static List<RegisteredBackbone> entries = Discover();

    private static List<RegisteredBackbone> Discover() =>
        [.. typeof(ModelRegistry).Assembly.GetTypes()
            .Where(t => typeof(IBackboneFamily).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBackboneFamily)Activator.CreateInstance(t)!)
            .OrderBy(f => f.Order).ThenBy(f => f.GetType().Name, StringComparer.Ordinal)
            .SelectMany(f => f.Backbones())];

    /// <summary>Adds a family's entries (from another assembly); a name that is already registered is an error.</summary>
    public static void Register(IBackboneFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        lock (Gate)
        {
            var added = family.Backbones().ToList();
            foreach (var e in added)
                if (entries.Any(x => x.Info.Name == e.Info.Name) || added.Count(x => x.Info.Name == e.Info.Name) > 1)
                    throw new ArgumentException($"model '{e.Info.Name}' is already registered", nameof(family));
            entries = [.. entries, .. added];
        }
    }

    /// <summary>Every registered backbone, in a stable order.</summary>
    public static IReadOnlyList<ModelInfo> List() => entries.Select(e => e.Info).ToList();

    /// <summary>Registry names.</summary>
    public static IReadOnlyList<string> Names => entries.Select(e => e.Info.Name).ToList();

    /// <summary>Whether <paramref name="name"/> is registered.</summary>
    public static bool Contains(string name) => entries.Any(e => e.Info.Name == name);

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

    private static RegisteredBackbone Find(string name) => entries.FirstOrDefault(e => e.Info.Name == name)
        ?? throw new InputException($"unknown model '{name}' (available: {string.Join(", ", entries.Select(e => e.Info.Name))})");
}
