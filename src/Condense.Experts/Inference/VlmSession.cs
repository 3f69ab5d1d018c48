// One place that answers a question about a slice of the brain, for `condense vlm ask`, `condense chat` and the
// HTTP server: renders the slice as the VLM sees it, builds the experts' context on the original volume, runs the loop.
using System.Globalization;
using Condense.Core;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Training;
using Condense.Experts.Volumes;

namespace Condense.Experts.Inference;

/// <summary>A loaded VLM with its volume and experts.</summary>
public sealed class VlmSession
{
    /// <summary>A session over <paramref name="vlm"/>, <paramref name="atlas"/> and <paramref name="experts"/>.</summary>
    public VlmSession(TrainedVlm vlm, BrainAtlas atlas, ExpertSet experts)
    {
        Vlm = vlm;
        Atlas = atlas;
        Loop = new ExpertLoop(vlm, experts);
    }

    /// <summary>The model.</summary>
    public TrainedVlm Vlm { get; }

    /// <summary>The volume.</summary>
    public BrainAtlas Atlas { get; }

    /// <summary>The inference loop.</summary>
    public ExpertLoop Loop { get; }

    /// <summary>Image side in pixels.</summary>
    public int Pixels => Vlm.Model.Config.ImagePixels;

    /// <summary>The image the VLM sees for a view and marker.</summary>
    public float[] Image(SliceView view, Marker? marker) => SliceRenderer.Render(Atlas, view, Pixels, marker: marker);

    /// <summary>Answers <paramref name="question"/> about the slice <paramref name="view"/> with <paramref name="marker"/>.</summary>
    public LoopResult Ask(SliceView view, Marker? marker, string question, bool useExperts, Action<string>? onText = null)
    {
        RequireSlice(view);
        var image = Image(view, marker);
        return Ask(image, view, marker, question, useExperts, onText);
    }

    /// <summary>Answers about a given image (already <see cref="Pixels"/> wide) cut from <paramref name="view"/>.</summary>
    public LoopResult Ask(float[] image, SliceView view, Marker? marker, string question, bool useExperts, Action<string>? onText = null)
    {
        if (image.Length != 3 * Pixels * Pixels)
            throw new InputException($"image has {image.Length} values; the model takes 3x{Pixels}x{Pixels}");
        if (string.IsNullOrWhiteSpace(question)) throw new InputException("question is empty");
        return Loop.Ask(image, question, new ExpertContext(Atlas, view, marker, image, Pixels), useExperts, onText);
    }

    /// <summary>Throws when the slice index lies outside the volume.</summary>
    public void RequireSlice(SliceView view)
    {
        var size = Atlas.Size;
        int n = view.Plane switch { SlicePlane.Axial => size.Z, SlicePlane.Coronal => size.Y, _ => size.X };
        if (view.Index < 0 || view.Index >= n)
            throw new InputException($"slice {view.Index.ToString(CultureInfo.InvariantCulture)} is outside the {view.Plane.ToString().ToLowerInvariant()} range 0..{n - 1}");
    }

    /// <summary>
    /// The marker from "i,j,k" texts (<paramref name="point"/> or <paramref name="area"/>); the voxel must lie inside the
    /// volume and on the slice of <paramref name="view"/>.
    /// </summary>
    public static Marker? ParseMarker(string? point, string? area, SliceView view, BrainAtlas atlas)
    {
        if (point is not null && area is not null) throw new InputException("give a point or an area, not both");
        string? text = point ?? area;
        if (text is null) return null;
        string field = point is not null ? "point" : "area";
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            throw new InputException($"{field} '{text}' must be three voxel indices 'i,j,k'");
        int i = int.Parse(parts[0], CultureInfo.InvariantCulture), j = int.Parse(parts[1], CultureInfo.InvariantCulture), k = int.Parse(parts[2], CultureInfo.InvariantCulture);
        if (!atlas.T1.Contains(i, j, k)) throw new InputException($"{field} '{text}' is outside the {atlas.Size.X}x{atlas.Size.Y}x{atlas.Size.Z} volume");
        int fixedCoordinate = view.Plane switch { SlicePlane.Axial => k, SlicePlane.Coronal => j, _ => i };
        if (fixedCoordinate != view.Index)
            throw new InputException($"{field} '{text}' is not on {view.Plane.ToString().ToLowerInvariant()} slice {view.Index}");
        return point is not null ? new Marker(MarkerKind.Point, i, j, k) : new Marker(MarkerKind.Area, i, j, k, BrainQuestions.AreaHalfSize);
    }
}
