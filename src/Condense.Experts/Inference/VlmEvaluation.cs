// Evaluation on held-out slices: each question answered four ways, paired on the same questions:
//   (a) the VLM without experts (no model cards: it answers directly),
//   (b) the VLM with experts (cards offered; the loop follows its trigger),
//   (c) the expert alone answering by rule (the call the question needs, answered by ExpertRule),
//   (d) the text-only floor (never sees the image).
// Trigger precision and recall come from (b)'s first replies.
using Condense.Core.Data;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Training;
using Condense.Experts.Volumes;

namespace Condense.Experts.Inference;

/// <summary>One evaluation question and how each condition answered it.</summary>
/// <param name="Family">Question family.</param>
/// <param name="HeldOutRegion">Whether a held-out region is its subject or answer.</param>
/// <param name="Expected">The correct answer.</param>
/// <param name="Vlm">(a) the VLM without experts.</param>
/// <param name="VlmWithExperts">(b) the VLM with experts.</param>
/// <param name="ExpertAlone">(c) the expert's rule, or null where the family needs no expert.</param>
/// <param name="TextOnly">(d) the text-only floor, or null when none was given.</param>
/// <param name="NeededTrigger">The trigger the question needs, or null.</param>
/// <param name="Triggered">The trigger (b) named, or null (also when its trigger failed to parse).</param>
/// <param name="TriggerError">(b)'s trigger or expert error, if any.</param>
public sealed record QuestionOutcome(QuestionFamily Family, bool HeldOutRegion, string Expected, string Vlm, string VlmWithExperts,
    string? ExpertAlone, string? TextOnly, string? NeededTrigger, string? Triggered, string? TriggerError);

/// <summary>The held-out question set and the four conditions.</summary>
public static class VlmEvaluation
{
    /// <summary>
    /// <paramref name="perFamily"/> questions of every family from the evaluation slices, drawn from <paramref name="seed"/>
    /// (the same set for every model, so conditions and seeds compare pairwise).
    /// </summary>
    public static IReadOnlyList<BrainSample> Questions(BrainAtlas atlas, BrainSplit split, int perFamily, ulong seed, AugmentOptions augment)
    {
        var sampler = new BrainQuestions(atlas, split, evaluation: true, augment);
        var rng = new SplitMix64(seed);
        var samples = new List<BrainSample>();
        foreach (var family in BrainQuestions.Families)
            for (int q = 0; q < perFamily; q++) samples.Add(sampler.Sample(family, ref rng));
        return samples;
    }

    /// <summary>Answers every question under each condition.</summary>
    public static List<QuestionOutcome> Run(TrainedVlm vlm, TrainedVlm? textOnly, BrainAtlas atlas, ExpertSet experts,
        IReadOnlyList<BrainSample> questions, Action<int>? progress = null)
    {
        var loop = new ExpertLoop(vlm, experts);
        var floor = textOnly is null ? null : new ExpertLoop(textOnly, experts);
        var outcomes = new List<QuestionOutcome>();
        int pixels = vlm.Model.Config.ImagePixels;
        foreach (var q in questions)
        {
            var image = SliceRenderer.Render(atlas, q.View, pixels, q.Augment, q.Marker);
            var context = new ExpertContext(atlas, q.View, q.Marker, image, pixels);
            var direct = loop.Ask(image, q.Question, context, useExperts: false);
            var guided = loop.Ask(image, q.Question, context, useExperts: true);
            string? rule = null;
            if (q.Trigger is not null)
                rule = ExpertRule.Answer(q.Family, experts.Find(q.Trigger.Name)!.Run(q.Trigger.Arguments, context).Text);
            string? floorAnswer = floor?.Ask(null, q.Question, context, useExperts: false).Answer;
            outcomes.Add(new QuestionOutcome(q.Family, q.HeldOutRegion, q.Answer, direct.Answer, guided.Answer, rule, floorAnswer,
                q.Trigger?.ToString(), guided.Trigger?.ToString(), guided.Error));
            progress?.Invoke(outcomes.Count);
        }
        return outcomes;
    }
}
