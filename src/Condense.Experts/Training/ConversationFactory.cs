// Turns generated questions into the conversations of each training stage and of evaluation, running the real
// experts so the expert-guided data holds exactly what the inference loop will show the model.
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Text;
using Condense.Experts.Volumes;

namespace Condense.Experts.Training;

/// <summary>Conversations for the VLM's stages, from samples of one brain.</summary>
public sealed class ConversationFactory
{
    private readonly BrainAtlas atlas;
    private readonly int pixels;

    /// <summary>A factory rendering <paramref name="pixels"/>-wide images and writing with <paramref name="format"/>.</summary>
    public ConversationFactory(BrainAtlas atlas, ExpertSet experts, ConversationFormat format, int pixels)
    {
        this.atlas = atlas;
        Experts = experts;
        Format = format;
        this.pixels = pixels;
    }

    /// <summary>The experts the cards list.</summary>
    public ExpertSet Experts { get; }

    /// <summary>The conversation format.</summary>
    public ConversationFormat Format { get; }

    /// <summary>The image the VLM sees for <paramref name="sample"/>.</summary>
    public float[] Image(BrainSample sample) => SliceRenderer.Render(atlas, sample.View, pixels, sample.Augment, sample.Marker);

    /// <summary>What the experts may read for <paramref name="sample"/>.</summary>
    public ExpertContext Context(BrainSample sample, float[]? image) => new(atlas, sample.View, sample.Marker, image, pixels);

    /// <summary>The question answered directly (instruction fine-tuning; with cards, a question that needs no expert).</summary>
    public TokenizedConversation Direct(BrainSample sample, bool withCards, bool withImage = true)
    {
        var c = Format.Prompt(withCards ? Experts.ModelCards() : null, withImage ? Image(sample) : null, sample.Question);
        Format.AddReply(c, sample.Answer);
        return c;
    }

    /// <summary>
    /// Expert-guided instruction data: with the cards, a question that needs an expert is answered in the reference's
    /// flow (trigger, the expert's real result, the answer); one that does not is answered directly.
    /// </summary>
    public TokenizedConversation ExpertGuided(BrainSample sample)
    {
        if (sample.Trigger is null) return Direct(sample, withCards: true);
        var image = Image(sample);
        var c = Format.Prompt(Experts.ModelCards(), image, sample.Question);
        Format.AddReply(c, ConversationFormat.TriggerReply(sample.Trigger.ToString()));
        var expert = Experts.Find(sample.Trigger.Name) ?? throw new InvalidOperationException($"no expert {sample.Trigger.Name}");
        var result = expert.Run(sample.Trigger.Arguments, Context(sample, image));
        Format.AddExpertTurn(c, result.Text, result.Overlay, sample.Question);
        Format.AddReply(c, sample.Answer);
        return c;
    }

    /// <summary>
    /// Alignment data: a slice described by its plane and its three largest training regions, and, when it carries a
    /// mark, where the mark lies in the image (grounded captions: they teach the projector and decoder to read marks).
    /// </summary>
    public TokenizedConversation Caption(SliceView view, IntensityAugment intensity, IReadOnlyDictionary<int, int> counts, IReadOnlySet<int> heldOut, Marker? marker = null)
    {
        var image = SliceRenderer.Render(atlas, view, pixels, intensity, marker);
        var c = Format.Prompt(null, image, CaptionQuestion);
        string text = CaptionText(view, counts, heldOut);
        if (marker is not null)
        {
            var (a, b) = view.InPlane(marker.I, marker.J, marker.K);
            var (u, v) = view.ToPixel(a, b, pixels, atlas.Size);
            text += $" A red {(marker.Kind == MarkerKind.Point ? "point" : "square")} marks the {(v < pixels / 2.0 ? "upper" : "lower")} {(u < pixels / 2.0 ? "left" : "right")} of the image.";
        }
        Format.AddReply(c, text);
        return c;
    }

    /// <summary>The alignment stage's instruction.</summary>
    public const string CaptionQuestion = "Describe this slice.";

    /// <summary>The caption: plane and the largest regions, held-out regions skipped.</summary>
    public string CaptionText(SliceView view, IReadOnlyDictionary<int, int> counts, IReadOnlySet<int> heldOut)
    {
        var largest = counts.Where(c => !heldOut.Contains(c.Key) && atlas.Region(c.Key) is not null)
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key).Take(3).Select(c => atlas.Region(c.Key)!.Name);
        string plane = view.Plane.ToString().ToLowerInvariant();
        return $"An {plane} slice. Largest regions: {string.Join(", ", largest)}.".Replace("An coronal", "A coronal").Replace("An sagittal", "A sagittal");
    }
}
