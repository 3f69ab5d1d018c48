// Accuracy per family and condition, and trigger precision/recall, from evaluation outcomes.
using Condense.Experts.Data;

namespace Condense.Experts.Inference;

/// <summary>One family's (or the overall) accuracies; null where the condition does not apply.</summary>
/// <param name="Family">Family name, "held-out regions" or "overall".</param>
/// <param name="Questions">Questions scored.</param>
/// <param name="Vlm">(a) VLM without experts.</param>
/// <param name="VlmWithExperts">(b) VLM with experts.</param>
/// <param name="ExpertAlone">(c) the expert's rule (families with an expert only).</param>
/// <param name="TextOnly">(d) text-only floor.</param>
public sealed record FamilyScore(string Family, int Questions, double Vlm, double VlmWithExperts, double? ExpertAlone, double? TextOnly);

/// <summary>The evaluation's summary.</summary>
/// <param name="Rows">Per family, then held-out regions, expert families, and overall.</param>
/// <param name="TriggerPrecision">Of the replies that named a trigger, the share that named the expert the question needs.</param>
/// <param name="TriggerRecall">Of the questions that need an expert, the share whose reply named it.</param>
/// <param name="TriggerExactArguments">Of the questions that need an expert, the share whose trigger was exactly right (name and arguments).</param>
/// <param name="SilentWhenNotNeeded">Of the questions that need no expert, the share answered without a trigger.</param>
public sealed record VlmScoreSummary(IReadOnlyList<FamilyScore> Rows, double TriggerPrecision, double TriggerRecall,
    double TriggerExactArguments, double SilentWhenNotNeeded);

/// <summary>Scores outcomes.</summary>
public static class VlmScores
{
    /// <summary>Per-family rows, a held-out-regions row, an expert-families row and an overall row.</summary>
    public static VlmScoreSummary Summarize(IReadOnlyList<QuestionOutcome> outcomes)
    {
        var rows = new List<FamilyScore>();
        foreach (var family in BrainQuestions.Families)
        {
            var of = outcomes.Where(o => o.Family == family).ToList();
            if (of.Count > 0) rows.Add(Row(Name(family), of));
        }
        var held = outcomes.Where(o => o.HeldOutRegion).ToList();
        if (held.Count > 0) rows.Add(Row("held-out regions", held));
        var expertFamilies = outcomes.Where(o => o.NeededTrigger is not null).ToList();
        if (expertFamilies.Count > 0) rows.Add(Row("expert families", expertFamilies));
        rows.Add(Row("overall", outcomes.ToList()));

        var called = outcomes.Where(o => o.Triggered is not null || o.TriggerError is not null).ToList();
        var needed = outcomes.Where(o => o.NeededTrigger is not null).ToList();
        var silentNeeded = outcomes.Where(o => o.NeededTrigger is null).ToList();
        double precision = called.Count == 0 ? 0 : called.Count(o => RightExpert(o)) / (double)called.Count;
        double recall = needed.Count == 0 ? 0 : needed.Count(o => RightExpert(o)) / (double)needed.Count;
        double exact = needed.Count == 0 ? 0 : needed.Count(o => o.Triggered == o.NeededTrigger) / (double)needed.Count;
        double silent = silentNeeded.Count == 0 ? 0 : silentNeeded.Count(o => o.Triggered is null && o.TriggerError is null) / (double)silentNeeded.Count;
        return new VlmScoreSummary(rows, precision, recall, exact, silent);
    }

    /// <summary>The family's name in tables: snake_case.</summary>
    public static string Name(QuestionFamily family) => family switch
    {
        QuestionFamily.RegionAtPoint => "region_at_point",
        QuestionFamily.Hemisphere => "hemisphere",
        QuestionFamily.Presence => "presence",
        QuestionFamily.Largest => "largest",
        QuestionFamily.AreaCount => "area_count",
        QuestionFamily.LobeAtPoint => "lobe_at_point",
        _ => "plane",
    };

    private static bool RightExpert(QuestionOutcome o) =>
        o.NeededTrigger is not null && o.Triggered is not null && ExpertName(o.Triggered) == ExpertName(o.NeededTrigger);

    private static string ExpertName(string trigger) => trigger[1..trigger.IndexOf('(')];

    private static FamilyScore Row(string name, List<QuestionOutcome> of)
    {
        double Acc(Func<QuestionOutcome, string?> answer) => of.Count(o => ExpertRule.Matches(answer(o), o.Expected)) / (double)of.Count;
        var withRule = of.Where(o => o.NeededTrigger is not null).ToList();
        double? expert = withRule.Count == of.Count ? Acc(o => o.ExpertAlone) : null;
        double? textOnly = of.All(o => o.TextOnly is not null) ? Acc(o => o.TextOnly) : null;
        return new FamilyScore(name, of.Count, Acc(o => o.Vlm), Acc(o => o.VlmWithExperts), expert, textOnly);
    }
}
