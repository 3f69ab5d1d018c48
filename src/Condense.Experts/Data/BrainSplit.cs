// How training and evaluation are kept apart on one brain: by slice and by region.
// - Slices: along each plane's fixed axis, bands of 5 slices; every fifth band (indices 10-14, 35-39, ...) is held
//   out for evaluation, so test slices cover every level of the brain but none is ever rendered in training.
//   Neighbouring bands still share anatomy (the nearest training slice is 1 mm away): the split tests generalisation
//   to unseen slices of the same brain, not to an unseen brain (there is only one).
// - Regions: a fixed set of AAL regions is never the subject or the answer of a training question (no training
//   question asks where, whether or which of them; no training point lies in them); evaluation asks about them too.
//   Their name pieces all occur in training regions, so a model can still spell them when an expert names them.
using Condense.Experts.Volumes;

namespace Condense.Experts.Data;

/// <summary>Training and test slices per plane, and the held-out regions.</summary>
public sealed class BrainSplit
{
    /// <summary>Slices of a band.</summary>
    public const int BandWidth = 5;

    /// <summary>Labelled voxels a slice needs to be used (drops the brain's thin top and bottom slices).</summary>
    public const int MinBrainVoxels = 3000;

    /// <summary>The held-out regions: every tenth AAL label from 7, alternating sides (Frontal_Mid_L, Rolandic_Oper_R, Rectus_L, ...).</summary>
    public static readonly int[] HeldOutLabels = [7, 18, 27, 38, 47, 58, 67, 78, 87, 98, 107];

    private readonly Dictionary<SlicePlane, int[]> train = new(), test = new();

    /// <summary>The split of <paramref name="atlas"/> for <paramref name="planes"/>.</summary>
    public BrainSplit(BrainAtlas atlas, IReadOnlyList<SlicePlane> planes)
    {
        Planes = planes;
        foreach (var plane in planes)
        {
            var usable = UsableSlices(atlas, plane);
            test[plane] = usable.Where(IsTestSlice).ToArray();
            train[plane] = usable.Where(s => !IsTestSlice(s)).ToArray();
        }
        HeldOut = HeldOutLabels.Where(l => atlas.Region(l) is not null).ToHashSet();
    }

    /// <summary>The planes questions are asked about.</summary>
    public IReadOnlyList<SlicePlane> Planes { get; }

    /// <summary>Labels of the held-out regions.</summary>
    public IReadOnlySet<int> HeldOut { get; }

    /// <summary>Whether slice index <paramref name="index"/> is an evaluation slice (any plane).</summary>
    public static bool IsTestSlice(int index) => index / BandWidth % 5 == 2;

    /// <summary>The slices of <paramref name="plane"/> in <paramref name="evaluation"/>'s part.</summary>
    public IReadOnlyList<int> Slices(SlicePlane plane, bool evaluation) => evaluation ? test[plane] : train[plane];

    private static int[] UsableSlices(BrainAtlas atlas, SlicePlane plane)
    {
        var size = atlas.Size;
        int n = plane switch { SlicePlane.Axial => size.Z, SlicePlane.Coronal => size.Y, _ => size.X };
        var counts = new int[n];
        for (int k = 0; k < size.Z; k++)
        for (int j = 0; j < size.Y; j++)
        for (int i = 0; i < size.X; i++)
        {
            if (atlas.Labels[i + size.X * (j + size.Y * k)] == 0) continue;
            counts[plane switch { SlicePlane.Axial => k, SlicePlane.Coronal => j, _ => i }]++;
        }
        return Enumerable.Range(0, n).Where(s => counts[s] >= MinBrainVoxels).ToArray();
    }
}
