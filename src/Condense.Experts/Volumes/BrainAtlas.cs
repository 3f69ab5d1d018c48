// The Colin27 T1 brain MRI and the AAL atlas aligned to it (Debian package `mricron-data`, 181×217×181 at 1 mm,
// MNI space, voxel i increasing to the subject's right): the volume the VLM sees slices of and the experts read.
using System.Globalization;
using Condense.Core;

namespace Condense.Experts.Volumes;

/// <summary>Which side of the brain a region lies on.</summary>
public enum Hemisphere
{
    /// <summary>The subject's left (AAL suffix _L).</summary>
    Left,
    /// <summary>The subject's right (AAL suffix _R).</summary>
    Right,
    /// <summary>On the midline (the vermis).</summary>
    Midline,
}

/// <summary>One labelled AAL region.</summary>
/// <param name="Label">The value of its voxels in the atlas volume (1..116).</param>
/// <param name="Name">The AAL name, e.g. Precentral_L.</param>
/// <param name="Hemisphere">From the name's suffix.</param>
public sealed record AtlasRegion(int Label, string Name, Hemisphere Hemisphere);

/// <summary>A T1 volume with a label volume of the same grid and the labels' names.</summary>
public sealed class BrainAtlas
{
    /// <summary>Where Debian's `mricron-data` installs the templates.</summary>
    public const string DebianDirectory = "/usr/share/mricron/templates";

    private readonly Dictionary<int, AtlasRegion> byLabel;
    private readonly Dictionary<string, AtlasRegion> byName;

    /// <summary>An atlas from volumes already read; labels must be integers on the T1's grid.</summary>
    public BrainAtlas(NiftiVolume t1, NiftiVolume labels, IReadOnlyList<AtlasRegion> regions)
    {
        if (t1.Nx != labels.Nx || t1.Ny != labels.Ny || t1.Nz != labels.Nz)
            throw new InputException($"labels grid {labels.Nx}x{labels.Ny}x{labels.Nz} differs from the T1 grid {t1.Nx}x{t1.Ny}x{t1.Nz}");
        T1 = t1;
        Labels = new short[labels.Data.Length];
        for (int v = 0; v < Labels.Length; v++)
        {
            float value = labels.Data[v];
            if (value < 0 || value > short.MaxValue || value != MathF.Round(value))
                throw new InputException($"labels voxel {v} has value {value}; labels must be non-negative integers");
            Labels[v] = (short)value;
        }
        Regions = regions;
        byLabel = regions.ToDictionary(r => r.Label);
        byName = regions.ToDictionary(r => r.Name, StringComparer.Ordinal);
        // Intensity scale: the 99.5th percentile of brain voxels maps to 1, so renders do not depend on the scanner's range.
        var brain = t1.Data.Where((_, v) => Labels[v] > 0).OrderBy(x => x).ToArray();
        IntensityScale = brain.Length == 0 ? 1f : Math.Max(1e-6f, brain[(int)(0.995 * (brain.Length - 1))]);
    }

    /// <summary>The T1 image.</summary>
    public NiftiVolume T1 { get; }

    /// <summary>The label of each voxel, in the T1's voxel order (0 = background).</summary>
    public short[] Labels { get; }

    /// <summary>The named regions.</summary>
    public IReadOnlyList<AtlasRegion> Regions { get; }

    /// <summary>The T1 value that renders as full white.</summary>
    public float IntensityScale { get; }

    /// <summary>Voxels along i, j, k.</summary>
    public (int X, int Y, int Z) Size => (T1.Nx, T1.Ny, T1.Nz);

    /// <summary>The label at voxel (i, j, k), 0 outside the volume.</summary>
    public int LabelAt(int i, int j, int k) => T1.Contains(i, j, k) ? Labels[i + T1.Nx * (j + T1.Ny * k)] : 0;

    /// <summary>The region of <paramref name="label"/>, or null for background and unnamed labels.</summary>
    public AtlasRegion? Region(int label) => byLabel.GetValueOrDefault(label);

    /// <summary>The region named <paramref name="name"/> (exact AAL spelling), or null.</summary>
    public AtlasRegion? Region(string name) => byName.GetValueOrDefault(name);

    /// <summary>Colin27 and AAL from <paramref name="directory"/> (default: the Debian package's folder).</summary>
    public static BrainAtlas Load(string? directory = null)
    {
        directory ??= Core.IO.AssetPaths.MricronDir();
        string t1 = Path.Combine(directory, "ch2.nii.gz"), aal = Path.Combine(directory, "aal.nii.gz"), names = Path.Combine(directory, "aal.nii.txt");
        foreach (var f in new[] { t1, aal, names })
            if (!File.Exists(f))
                throw new InputException($"{f} not found: the brain MRI comes from the Debian package mricron-data (apt-get install mricron-data)");
        return new BrainAtlas(NiftiVolume.Read(t1), NiftiVolume.Read(aal), ReadNames(names));
    }

    /// <summary>Reads an atlas label table: lines "label name [code]".</summary>
    public static IReadOnlyList<AtlasRegion> ReadNames(string path)
    {
        var regions = new List<AtlasRegion>();
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            var parts = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts.Length < 2 || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label <= 0)
                throw new InputException($"{path}:{line}: expected 'label name', got '{raw}'");
            string name = parts[1];
            var side = name.EndsWith("_L", StringComparison.Ordinal) ? Hemisphere.Left
                : name.EndsWith("_R", StringComparison.Ordinal) ? Hemisphere.Right : Hemisphere.Midline;
            regions.Add(new AtlasRegion(label, name, side));
        }
        if (regions.Count == 0) throw new InputException($"{path}: no labels");
        return regions;
    }
}
