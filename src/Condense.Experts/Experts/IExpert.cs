// The expert contract of VILA-M3: an expert is listed to the VLM by a model card, called by a trigger
// `<NAME(args)>` in the VLM's reply, runs on the original volume (not the 2-D slice the VLM saw) and answers with text
// and, where it segments, an overlay image.
using Condense.Experts.Data;
using Condense.Experts.Volumes;

namespace Condense.Experts.Experts;

/// <summary>What an expert may look at: the original volume, the slice the user's image was cut from, the user's mark.</summary>
/// <param name="Atlas">The volume (T1 and, for the atlas expert, its registered labels).</param>
/// <param name="View">The slice and in-plane transform of the user's image.</param>
/// <param name="Marker">The user's mark, if any.</param>
/// <param name="Image">The user's image (3, S, S) as the VLM saw it, for experts that classify images.</param>
/// <param name="ImagePixels">S.</param>
public sealed record ExpertContext(BrainAtlas Atlas, SliceView View, Marker? Marker, float[]? Image, int ImagePixels);

/// <summary>An expert's answer.</summary>
/// <param name="Text">What the VLM reads in the expert's turn.</param>
/// <param name="Overlay">A (3, S, S) overlay of the segmentation on the user's view, or null.</param>
public sealed record ExpertResult(string Text, float[]? Overlay = null);

/// <summary>A failure the loop turns into a message ("Sorry I met an error: ..."), never a crash.</summary>
public sealed class ExpertException(string message) : Exception(message);

/// <summary>A domain expert model the VLM can call.</summary>
public interface IExpert
{
    /// <summary>The trigger name, upper case (<c>ATLAS</c> in <c>&lt;ATLAS(point)&gt;</c>).</summary>
    string Name { get; }

    /// <summary>One line for the model cards: what it does, how well, and its valid arguments.</summary>
    string ModelCard { get; }

    /// <summary>Runs on <paramref name="context"/>'s volume with the trigger's <paramref name="arguments"/>.</summary>
    ExpertResult Run(string arguments, ExpertContext context);
}
