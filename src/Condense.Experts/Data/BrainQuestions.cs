// Generated instruction data on the Colin27 slices. Each sample is a rendered, augmented slice with a question, its
// answer from the atlas, and the expert call that would answer it (or none where the image alone suffices). The
// answers come from the whole volume's labels on the sampled slice, so they do not depend on the augmentation.
using Condense.Core.Data;
using Condense.Experts.Experts;
using Condense.Experts.Volumes;

namespace Condense.Experts.Data;

/// <summary>The question families.</summary>
public enum QuestionFamily
{
    /// <summary>Which region lies at the marked point? (expert: ATLAS(point)).</summary>
    RegionAtPoint,
    /// <summary>Which hemisphere is the marked point in? (no expert: visible in the image).</summary>
    Hemisphere,
    /// <summary>Is region X present in this slice? (expert: ATLAS(X)).</summary>
    Presence,
    /// <summary>Which of these regions is largest here? (expert: ATLAS(A, B, C)).</summary>
    Largest,
    /// <summary>How many distinct regions does the marked area cross? (expert: ATLAS(area)).</summary>
    AreaCount,
    /// <summary>Is this an axial or a coronal slice? (no expert: visible in the image).</summary>
    Plane,
    /// <summary>Which lobe is the marked point in? (expert: SEGMENT(point), the learned segmentation network).</summary>
    LobeAtPoint,
}

/// <summary>One generated question on one rendered slice.</summary>
/// <param name="Family">Its family.</param>
/// <param name="View">The slice and in-plane augmentation.</param>
/// <param name="Augment">The intensity augmentation.</param>
/// <param name="Marker">The mark drawn on the image, if any.</param>
/// <param name="Question">The user's question.</param>
/// <param name="Answer">The correct short answer.</param>
/// <param name="Trigger">The expert call that answers it, or null where none is needed.</param>
/// <param name="HeldOutRegion">Whether a held-out region is its subject or answer.</param>
public sealed record BrainSample(QuestionFamily Family, SliceView View, IntensityAugment Augment, Marker? Marker,
    string Question, string Answer, ExpertTrigger? Trigger, bool HeldOutRegion);

/// <summary>Augmentation ranges (uniform) for generated slices.</summary>
public sealed record AugmentOptions(double MaxRotationDegrees = 8, double MaxShiftPixels = 3, double MaxZoomChange = 0.08,
    double MaxGainChange = 0.15, double MaxGammaChange = 0.2, double MaxNoise = 0.04)
{
    /// <summary>No augmentation.</summary>
    public static AugmentOptions None { get; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>Samples questions of each family from one split of the atlas.</summary>
public sealed class BrainQuestions
{
    /// <summary>Half side of the marked square, voxels (1 mm): a 21 mm square, about 6 pixels at 64 px.</summary>
    public const int AreaHalfSize = 10;

    /// <summary>Voxels a region needs in a slice to be offered as present in a presence or largest question.</summary>
    public const int MinShownVoxels = 40;

    private readonly BrainAtlas atlas;
    private readonly BrainSplit split;
    private readonly bool evaluation;
    private readonly AugmentOptions augment;
    private readonly Dictionary<(SlicePlane, int), Dictionary<int, int>> countsCache = new();

    /// <summary>A sampler over the training (or evaluation) slices of <paramref name="split"/>.</summary>
    public BrainQuestions(BrainAtlas atlas, BrainSplit split, bool evaluation, AugmentOptions augment)
    {
        this.atlas = atlas;
        this.split = split;
        this.evaluation = evaluation;
        this.augment = augment;
    }

    /// <summary>The question families in order.</summary>
    public static IReadOnlyList<QuestionFamily> Families { get; } = Enum.GetValues<QuestionFamily>();

    /// <summary>A sample of <paramref name="family"/> drawn with <paramref name="rng"/> (deterministic in the generator's state).</summary>
    public BrainSample Sample(QuestionFamily family, ref SplitMix64 rng)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            var (view, intensity) = DrawView(ref rng);
            var sample = family switch
            {
                QuestionFamily.RegionAtPoint => RegionAtPoint(view, intensity, ref rng),
                QuestionFamily.Hemisphere => HemisphereAtPoint(view, intensity, ref rng),
                QuestionFamily.Presence => Presence(view, intensity, ref rng),
                QuestionFamily.Largest => Largest(view, intensity, ref rng),
                QuestionFamily.AreaCount => AreaCount(view, intensity, ref rng),
                QuestionFamily.LobeAtPoint => LobeAtPoint(view, intensity, ref rng),
                _ => new BrainSample(family, view, intensity, null, "Is this an axial or a coronal slice?",
                    view.Plane == SlicePlane.Axial ? "axial" : view.Plane == SlicePlane.Coronal ? "coronal" : "sagittal", null, false),
            };
            if (sample is null) continue;
            if (!evaluation && sample.HeldOutRegion) continue;
            return sample;
        }
        throw new InvalidOperationException($"no {family} question found in 200 attempts");
    }

    /// <summary>A random slice of this split's part with random augmentation.</summary>
    public (SliceView View, IntensityAugment Intensity) DrawView(ref SplitMix64 rng)
    {
        var plane = split.Planes[rng.NextInt(split.Planes.Count)];
        var slices = split.Slices(plane, evaluation);
        int index = slices[rng.NextInt(slices.Count)];
        var view = new SliceView(plane, index,
            RotationDegrees: Uniform(ref rng, augment.MaxRotationDegrees),
            ShiftX: Uniform(ref rng, augment.MaxShiftPixels), ShiftY: Uniform(ref rng, augment.MaxShiftPixels),
            Zoom: 1 + Uniform(ref rng, augment.MaxZoomChange));
        var intensity = new IntensityAugment(1 + Uniform(ref rng, augment.MaxGainChange), 1 + Uniform(ref rng, augment.MaxGammaChange),
            augment.MaxNoise * rng.NextDouble(), rng.Next());
        return (view, intensity);
    }

    /// <summary>Voxel counts of every label on the view's slice (cached per slice).</summary>
    public Dictionary<int, int> Counts(SliceView view)
    {
        if (!countsCache.TryGetValue((view.Plane, view.Index), out var counts))
            countsCache[(view.Plane, view.Index)] = counts = AtlasExpert.SliceCounts(atlas, view);
        return counts;
    }

    /// <summary>The split this sampler draws from.</summary>
    public BrainSplit Split => split;

    private BrainSample? RegionAtPoint(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        if (RandomLabelledVoxel(view, ref rng) is not { } v) return null;
        var region = atlas.Region(atlas.LabelAt(v.I, v.J, v.K))!;
        return new BrainSample(QuestionFamily.RegionAtPoint, view, intensity, new Marker(MarkerKind.Point, v.I, v.J, v.K),
            "Which region lies at the marked point?", region.Name, new ExpertTrigger("ATLAS", "point"), split.HeldOut.Contains(region.Label));
    }

    private BrainSample? LobeAtPoint(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        if (RandomLabelledVoxel(view, ref rng) is not { } v) return null;
        var region = atlas.Region(atlas.LabelAt(v.I, v.J, v.K))!;
        return new BrainSample(QuestionFamily.LobeAtPoint, view, intensity, new Marker(MarkerKind.Point, v.I, v.J, v.K),
            "Which lobe is the marked point in?", Lobes.Names[Lobes.Of(region)], new ExpertTrigger("SEGMENT", "point"), split.HeldOut.Contains(region.Label));
    }

    private BrainSample? HemisphereAtPoint(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        if (view.Plane == SlicePlane.Sagittal) return null;   // one hemisphere per sagittal slice
        if (RandomLabelledVoxel(view, ref rng) is not { } v) return null;
        double x = atlas.T1.XMillimetres(v.I, v.J, v.K);
        if (Math.Abs(x) < 4) return null;   // too close to the midline to be a fair question
        return new BrainSample(QuestionFamily.Hemisphere, view, intensity, new Marker(MarkerKind.Point, v.I, v.J, v.K),
            "Which hemisphere is the marked point in?", x < 0 ? "left" : "right", null, false);
    }

    private BrainSample? Presence(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        var counts = Counts(view);
        bool present = rng.NextInt(2) == 0;
        var candidates = present
            ? atlas.Regions.Where(r => counts.GetValueOrDefault(r.Label) >= MinShownVoxels).ToList()
            : atlas.Regions.Where(r => counts.GetValueOrDefault(r.Label) == 0).ToList();
        candidates = Trainable(candidates);
        if (candidates.Count == 0) return null;
        var region = candidates[rng.NextInt(candidates.Count)];
        return new BrainSample(QuestionFamily.Presence, view, intensity, null, $"Is {region.Name} present in this slice?",
            present ? "yes" : "no", new ExpertTrigger("ATLAS", region.Name), split.HeldOut.Contains(region.Label));
    }

    private BrainSample? Largest(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        var counts = Counts(view);
        var shown = Trainable(atlas.Regions.Where(r => counts.GetValueOrDefault(r.Label) >= MinShownVoxels).ToList());
        if (shown.Count < 3) return null;
        var picked = new List<AtlasRegion>();
        while (picked.Count < 3)
        {
            var r = shown[rng.NextInt(shown.Count)];
            if (!picked.Contains(r)) picked.Add(r);
        }
        var bySize = picked.OrderByDescending(r => counts[r.Label]).ToList();
        if (counts[bySize[0].Label] < 1.15 * counts[bySize[1].Label]) return null;   // a clear winner only
        return new BrainSample(QuestionFamily.Largest, view, intensity, null,
            $"Which of these regions is largest here: {picked[0].Name}, {picked[1].Name} or {picked[2].Name}?", bySize[0].Name,
            new ExpertTrigger("ATLAS", string.Join(", ", picked.Select(r => r.Name))), picked.Any(r => split.HeldOut.Contains(r.Label)));
    }

    private BrainSample? AreaCount(SliceView view, IntensityAugment intensity, ref SplitMix64 rng)
    {
        if (RandomLabelledVoxel(view, ref rng) is not { } v) return null;
        var marker = new Marker(MarkerKind.Area, v.I, v.J, v.K, AreaHalfSize);
        int count = AtlasExpert.AreaRegions(atlas, view, marker).Count;
        return new BrainSample(QuestionFamily.AreaCount, view, intensity, marker,
            "How many distinct regions does the marked area cross?", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            new ExpertTrigger("ATLAS", "area"), false);
    }

    private List<AtlasRegion> Trainable(List<AtlasRegion> regions) =>
        evaluation ? regions : regions.Where(r => !split.HeldOut.Contains(r.Label)).ToList();

    /// <summary>A mark of <paramref name="kind"/> at a random labelled voxel of the view's slice, or null when none was found.</summary>
    public Marker? RandomMarker(SliceView view, MarkerKind kind, ref SplitMix64 rng) =>
        RandomLabelledVoxel(view, ref rng) is { } v ? new Marker(kind, v.I, v.J, v.K, kind == MarkerKind.Area ? AreaHalfSize : 0) : null;

    private (int I, int J, int K)? RandomLabelledVoxel(SliceView view, ref SplitMix64 rng)
    {
        var (na, nb) = view.PlaneSize(atlas.Size);
        for (int t = 0; t < 100; t++)
        {
            var (i, j, k) = view.Voxel(rng.NextInt(na), rng.NextInt(nb));
            if (atlas.LabelAt((int)i, (int)j, (int)k) > 0) return ((int)i, (int)j, (int)k);
        }
        return null;
    }

    private static double Uniform(ref SplitMix64 rng, double max) => max == 0 ? 0 : (2 * rng.NextDouble() - 1) * max;
}
