// Region groups of the learned segmentation expert: the AAL regions gathered into lobes (after the lobe table that
// accompanies AAL, simplified: temporal poles and the fusiform gyrus go to the temporal lobe, the paracentral lobule
// to the frontal lobe, the basal ganglia and thalamus to "subcortical", cerebellum and vermis to "cerebellum").
using Condense.Experts.Volumes;

namespace Condense.Experts.Experts;

/// <summary>Lobe classes (0 = background).</summary>
public static class Lobes
{
    /// <summary>Class names; index = class id.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["background", "frontal", "insula", "limbic", "occipital", "parietal", "subcortical", "temporal", "cerebellum"];

    /// <summary>The lobe class of an AAL region.</summary>
    public static int Of(AtlasRegion region)
    {
        string n = region.Name;
        bool Starts(params string[] prefixes) => prefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal));
        if (Starts("Cerebelum", "Vermis")) return 8;
        if (Starts("Temporal", "Fusiform", "Heschl")) return 7;
        if (Starts("Caudate", "Putamen", "Pallidum", "Thalamus")) return 6;
        if (Starts("Postcentral", "Parietal", "SupraMarginal", "Angular", "Precuneus")) return 5;
        if (Starts("Calcarine", "Cuneus", "Lingual", "Occipital")) return 4;
        if (Starts("Cingulum", "Hippocampus", "ParaHippocampal", "Amygdala")) return 3;
        if (Starts("Insula")) return 2;
        return 1;   // Precentral, Frontal_*, Rolandic_Oper, Supp_Motor_Area, Olfactory, Rectus, Paracentral_Lobule
    }

    /// <summary>Lobe class per atlas label (index = label; 0 for background and unnamed labels).</summary>
    public static int[] LabelTable(BrainAtlas atlas)
    {
        var table = new int[atlas.Regions.Max(r => r.Label) + 1];
        foreach (var r in atlas.Regions) table[r.Label] = Of(r);
        return table;
    }
}
