// Dialogue/narrative labels of tokens, for depth pruning's second task: next-token accuracy on quoted speech vs narration. TinyStories mixes the two in the same
// stories ("Can I play?" asked Tim. ...), so the split holds context, vocabulary and topic fixed while asking for
// different skills: tracking an open quote, turn-taking, first/second person and question forms inside quotes;
// third-person past-tense narration outside. Different units may matter for each, which is what the paper's
// "adaptive metrics trade one task for another" finding needs.
namespace Condense.Language.Text;

/// <summary>Dialogue/narrative labels of tokens by quote state.</summary>
public static class DialogueLabels
{
    /// <summary>Label of a token inside quotes.</summary>
    public const sbyte Dialogue = 1;

    /// <summary>Label of a token outside quotes.</summary>
    public const sbyte Narrative = 0;

    /// <summary>Label of a token that holds a quote mark (it opens or closes speech: neither task).</summary>
    public const sbyte Neither = -1;

    /// <summary>
    /// Labels tokens by the quote state at their start: a straight or curly double quote toggles it, a newline
    /// resets it (an unmatched quote cannot leak into the next paragraph).
    /// </summary>
    public static sbyte[] Label(IReadOnlyList<string> pieces)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        var labels = new sbyte[pieces.Count];
        bool inside = false;
        for (int i = 0; i < pieces.Count; i++)
        {
            var piece = pieces[i];
            bool hasQuote = false;
            labels[i] = inside ? Dialogue : Narrative;
            foreach (var c in piece)
            {
                if (c is '"' or '\u201C' or '\u201D') { inside = !inside; hasQuote = true; }
                else if (c == '\n') inside = false;
            }
            if (hasQuote) labels[i] = Neither;
        }
        return labels;
    }
}
