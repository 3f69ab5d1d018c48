// The corpus the VLM's word tokenizer is trained on: every fixed phrase the data generator, the experts and the
// conversation format write, every AAL region name and every digit. A test renders thousands of generated
// conversations of every stage and checks that none needs <unk>.
using Condense.Experts.Experts;
using Condense.Experts.Volumes;

namespace Condense.Experts.Text;

/// <summary>The generator's vocabulary corpus.</summary>
public static class VlmVocabulary
{
    /// <summary>Texts covering everything the generated conversations contain.</summary>
    public static IEnumerable<string> Corpus(BrainAtlas atlas, ExpertSet experts)
    {
        yield return experts.ModelCards();
        yield return "USER: ASSISTANT: EXPERT:";
        yield return ConversationFormat.ModalityText + " " + ConversationFormat.ExpertInstruction;
        yield return ConversationFormat.TriggerReply("<ATLAS(point)> <ATLAS(area)> <ATLAS(x, y)> <SEGMENT(point)>");
        yield return "Which region lies at the marked point? Which hemisphere is the marked point in? Is present in this slice?";
        yield return "Which of these regions is largest here: or ? How many distinct regions does the marked area cross?";
        yield return "Is this an axial or a coronal slice? sagittal yes no left right";
        yield return "The marked point lies in outside the labelled brain. The marked area crosses regions: Voxels in this slice: none";
        yield return "Which lobe is the marked point in? The marked point lies in the lobe.";
        yield return "Describe this slice. An axial slice. A coronal slice. A sagittal slice. Largest regions:";
        yield return "A red point square marks the upper lower left right of the image.";
        yield return "0 1 2 3 4 5 6 7 8 9";
        foreach (var r in atlas.Regions) yield return r.Name;
        yield return string.Join(" ", Lobes.Names) + " The marked point lies outside the brain.";
        foreach (var e in experts.Experts) yield return e.ModelCard;
    }
}
