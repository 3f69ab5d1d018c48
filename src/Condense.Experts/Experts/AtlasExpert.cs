// The registration-based segmentation analogue: the AAL atlas, registered to the Colin27 volume, labels every voxel
// of the whole volume; the expert answers from those labels on the slice the user's image was cut from.
using System.Globalization;
using Condense.Experts.Data;
using Condense.Experts.Volumes;

namespace Condense.Experts.Experts;

/// <summary>
/// AAL atlas segmentation. Arguments: <c>point</c> (the region at the marked point), <c>area</c> (the regions the
/// marked square crosses, largest first) or region names separated by commas (their voxels in this slice, largest first).
/// </summary>
public sealed class AtlasExpert : IExpert
{
    /// <summary>Voxels a region needs inside the marked square to count as crossed (drops one-voxel slivers).</summary>
    public const int AreaMinVoxels = 10;

    /// <inheritdoc />
    public string Name => "ATLAS";

    /// <inheritdoc />
    public string ModelCard =>
        "<ATLAS(args)> : AAL atlas segmentation of the whole brain volume, 116 regions. Valid args: point, area, or region names.";

    /// <inheritdoc />
    public ExpertResult Run(string arguments, ExpertContext context)
    {
        var atlas = context.Atlas;
        string args = arguments.Trim();
        var view = context.View;
        if (args == "point")
        {
            var m = RequireMarker(context, MarkerKind.Point);
            var region = atlas.Region(atlas.LabelAt(m.I, m.J, m.K));
            string text = region is null ? "The marked point lies outside the labelled brain." : $"The marked point lies in {region.Name}.";
            return new ExpertResult(text, Overlay(context));
        }
        if (args == "area")
        {
            var m = RequireMarker(context, MarkerKind.Area);
            var crossed = AreaRegions(atlas, view, m);
            string text = crossed.Count == 0 ? "The marked area crosses 0 regions."
                : $"The marked area crosses {crossed.Count} regions: {string.Join(", ", crossed.Select(r => r.Name))}.";
            return new ExpertResult(text, Overlay(context));
        }
        var names = args.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new ExpertException("ATLAS needs an argument: point, area, or region names");
        var regions = names.Select(n => atlas.Region(n) ?? throw new ExpertException($"ATLAS does not know the region '{n}'")).ToList();
        var counts = SliceCounts(atlas, view);
        var sized = regions.Select(r => (r, counts.GetValueOrDefault(r.Label))).OrderByDescending(x => x.Item2).ThenBy(x => x.r.Label).ToList();
        string sizes = string.Join(", ", sized.Select(x => x.Item2 > 0 ? $"{x.r.Name} {x.Item2.ToString(CultureInfo.InvariantCulture)}" : $"{x.r.Name} none"));
        return new ExpertResult($"Voxels in this slice: {sizes}.");
    }

    /// <summary>Voxel count of every label on the view's slice of the whole volume.</summary>
    public static Dictionary<int, int> SliceCounts(BrainAtlas atlas, SliceView view)
    {
        var (na, nb) = view.PlaneSize(atlas.Size);
        var counts = new Dictionary<int, int>();
        for (int b = 0; b < nb; b++)
        for (int a = 0; a < na; a++)
        {
            var (i, j, k) = view.Voxel(a, b);
            int label = atlas.LabelAt((int)i, (int)j, (int)k);
            if (label > 0) counts[label] = counts.GetValueOrDefault(label) + 1;
        }
        return counts;
    }

    /// <summary>Regions with at least <see cref="AreaMinVoxels"/> voxels in the marked square, largest first.</summary>
    public static IReadOnlyList<AtlasRegion> AreaRegions(BrainAtlas atlas, SliceView view, Marker marker)
    {
        var (ca, cb) = view.InPlane(marker.I, marker.J, marker.K);
        var counts = new Dictionary<int, int>();
        for (int b = (int)cb - marker.HalfSize; b <= (int)cb + marker.HalfSize; b++)
        for (int a = (int)ca - marker.HalfSize; a <= (int)ca + marker.HalfSize; a++)
        {
            var (i, j, k) = view.Voxel(a, b);
            int label = atlas.LabelAt((int)i, (int)j, (int)k);
            if (label > 0) counts[label] = counts.GetValueOrDefault(label) + 1;
        }
        return counts.Where(c => c.Value >= AreaMinVoxels && atlas.Region(c.Key) is not null)
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key).Select(c => atlas.Region(c.Key)!).ToList();
    }

    private static Marker RequireMarker(ExpertContext context, MarkerKind kind) =>
        context.Marker is { } m && m.Kind == kind ? m
            : throw new ExpertException($"ATLAS({(kind == MarkerKind.Point ? "point" : "area")}) needs a marked {(kind == MarkerKind.Point ? "point" : "area")} on the image");

    private static float[] Overlay(ExpertContext context) =>
        SliceRenderer.RenderOverlay(context.Atlas, context.View, context.ImagePixels, (i, j, k) => context.Atlas.LabelAt(i, j, k), context.Marker);
}
