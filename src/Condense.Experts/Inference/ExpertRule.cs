// The expert alone: each question family answered by a fixed rule from the text of the expert call that the
// question needs (the "expert only" baseline of VILA-M3's classification table).
using System.Text.RegularExpressions;
using Condense.Experts.Data;

namespace Condense.Experts.Inference;

/// <summary>Rule-based answers from an expert's text.</summary>
public static partial class ExpertRule
{
    /// <summary>The rule's answer to a <paramref name="family"/> question from <paramref name="expertText"/>, or null when no rule applies.</summary>
    public static string? Answer(QuestionFamily family, string expertText)
    {
        switch (family)
        {
            case QuestionFamily.RegionAtPoint:
                var point = PointPattern().Match(expertText);
                return point.Success ? point.Groups[1].Value : null;
            case QuestionFamily.Presence:
                return expertText.Contains(" none", StringComparison.Ordinal) ? "no" : "yes";
            case QuestionFamily.Largest:
                var first = SizesPattern().Match(expertText);
                return first.Success ? first.Groups[1].Value : null;
            case QuestionFamily.LobeAtPoint:
                var lobe = LobePattern().Match(expertText);
                return lobe.Success ? lobe.Groups[1].Value : null;
            case QuestionFamily.AreaCount:
                var count = AreaPattern().Match(expertText);
                return count.Success ? count.Groups[1].Value : null;
            default:
                return null;
        }
    }

    /// <summary>Whether <paramref name="answer"/> is <paramref name="expected"/> (spacing and a final full stop ignored).</summary>
    public static bool Matches(string? answer, string expected) =>
        answer is not null && Normalize(answer) == Normalize(expected);

    private static string Normalize(string s) => s.Trim().TrimEnd('.').Trim();

    [GeneratedRegex(@"lies in (\S+?)\.")]
    private static partial Regex PointPattern();

    [GeneratedRegex(@"Voxels in this slice: (\S+) ")]
    private static partial Regex SizesPattern();

    [GeneratedRegex(@"lies in the (\w+) lobe")]
    private static partial Regex LobePattern();

    [GeneratedRegex(@"crosses (\d+) regions")]
    private static partial Regex AreaPattern();
}
