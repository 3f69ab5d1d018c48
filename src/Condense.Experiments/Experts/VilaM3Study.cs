// The VILA-M3 claim at CPU scale, over seeds: on held-out slices, does expert information raise the VLM's accuracy
// ((b) VLM with experts > (a) the same VLM without them), and does the VLM with experts do at least as well as the
// expert alone ((b) ≥ (c))? The text-only floor (d) shows how much the image itself tells. Every seed trains its own
// VLM and floor; all conditions and seeds answer the same held-out questions, so comparisons are paired.
using Condense.Experiments.Statistics;
using Condense.Experts.Data;
using Condense.Experts.Inference;
using Condense.Experts.Training;
using Condense.Experts.Volumes;

namespace Condense.Experiments.Experts;

/// <summary>How the study runs.</summary>
public sealed record VilaM3StudyOptions
{
    /// <summary>Folder of the per-seed runs (seed-N and seed-N-text); finished runs are reused, interrupted ones resume.</summary>
    public required string RunRoot { get; init; }

    /// <summary>Training seeds.</summary>
    public IReadOnlyList<long> Seeds { get; init; } = [0, 1, 2];

    /// <summary>The VLM's training (RunDir, Seed and TextOnly are set per run).</summary>
    public VlmTrainOptions Training { get; init; } = new() { RunDir = "" };

    /// <summary>Held-out questions per family.</summary>
    public int PerFamily { get; init; } = 100;

    /// <summary>Seed of the held-out question set.</summary>
    public ulong QuestionSeed { get; init; } = 20241118;

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One seed's evaluation.</summary>
/// <param name="Seed">Training seed.</param>
/// <param name="Summary">Its scores.</param>
/// <param name="TrainSeconds">Training wall time of the VLM and the floor in this call (0 when reused).</param>
/// <param name="Segmenter">The learned segmentation expert's Dice on the held-out slices.</param>
public sealed record VilaM3SeedResult(long Seed, VlmScoreSummary Summary, double TrainSeconds, SegmenterScore? Segmenter);

/// <summary>A condition's accuracy over seeds.</summary>
/// <param name="Mean">Mean accuracy.</param>
/// <param name="Std">Sample standard deviation over seeds.</param>
public sealed record SeedAccuracy(double Mean, double Std);

/// <summary>One row of the result table.</summary>
/// <param name="Family">Family, "held-out regions", "expert families" or "overall".</param>
/// <param name="Questions">Questions per seed.</param>
/// <param name="Vlm">(a).</param>
/// <param name="VlmWithExperts">(b).</param>
/// <param name="ExpertAlone">(c), where it applies.</param>
/// <param name="TextOnly">(d).</param>
/// <param name="ExpertsVsNone">(b) − (a), paired.</param>
/// <param name="ExpertsVsExpertAlone">(b) − (c), paired, where (c) applies.</param>
public sealed record VilaM3Row(string Family, int Questions, SeedAccuracy Vlm, SeedAccuracy VlmWithExperts, SeedAccuracy? ExpertAlone,
    SeedAccuracy TextOnly, PairedComparison ExpertsVsNone, PairedComparison? ExpertsVsExpertAlone);

/// <summary>The study's result.</summary>
/// <param name="Seeds">Per seed.</param>
/// <param name="Rows">Aggregated rows.</param>
/// <param name="TriggerPrecision">Over seeds.</param>
/// <param name="TriggerRecall">Over seeds.</param>
/// <param name="TriggerExactArguments">Over seeds.</param>
/// <param name="SilentWhenNotNeeded">Over seeds.</param>
/// <param name="Training">The training options used.</param>
/// <param name="PerFamily">Questions per family.</param>
public sealed record VilaM3StudyResult(IReadOnlyList<VilaM3SeedResult> Seeds, IReadOnlyList<VilaM3Row> Rows, SeedAccuracy TriggerPrecision,
    SeedAccuracy TriggerRecall, SeedAccuracy TriggerExactArguments, SeedAccuracy SilentWhenNotNeeded, object Training, int PerFamily);

/// <summary>Runs and reports the study.</summary>
public static class VilaM3Study
{
    /// <summary>Trains (or reuses) every seed's VLM and floor, evaluates them and aggregates.</summary>
    public static VilaM3StudyResult Run(BrainAtlas atlas, VilaM3StudyOptions options, CancellationToken cancellation = default)
    {
        var log = options.Log ?? (_ => { });
        var split = new BrainSplit(atlas, options.Training.Planes);
        var questions = VlmEvaluation.Questions(atlas, split, options.PerFamily, options.QuestionSeed, options.Training.Augment);
        var perSeed = new List<(long Seed, List<QuestionOutcome> Outcomes, double Seconds, SegmenterScore? Dice)>();
        foreach (long seed in options.Seeds)
        {
            string dir = Path.Combine(options.RunRoot, $"seed-{seed}"), floorDir = dir + "-text";
            log($"seed {seed}: training the VLM in {dir}");
            var vlmRun = VlmTraining.Train(atlas, options.Training with { RunDir = dir, Seed = seed, TextOnly = false }, cancellation);
            log($"seed {seed}: training the text-only floor in {floorDir}");
            var floorRun = VlmTraining.Train(atlas, options.Training with { RunDir = floorDir, Seed = seed, TextOnly = true }, cancellation);
            using var vlm = VlmFiles.Load(dir);
            using var floor = VlmFiles.Load(floorDir);
            log($"seed {seed}: answering {questions.Count} held-out questions four ways");
            var outcomes = VlmEvaluation.Run(vlm, floor, atlas, vlm.Experts, questions);
            var dicePath = Path.Combine(dir, SegmenterTraining.Folder, "dice.json");
            var dice = File.Exists(dicePath) ? System.Text.Json.JsonSerializer.Deserialize<SegmenterScore>(File.ReadAllText(dicePath)) : null;
            perSeed.Add((seed, outcomes, vlmRun.Stages.Sum(s => s.Seconds) + floorRun.Stages.Sum(s => s.Seconds), dice));
        }
        return Aggregate(perSeed, options);
    }

    private static VilaM3StudyResult Aggregate(List<(long Seed, List<QuestionOutcome> Outcomes, double Seconds, SegmenterScore? Dice)> perSeed, VilaM3StudyOptions options)
    {
        var summaries = perSeed.Select(s => new VilaM3SeedResult(s.Seed, VlmScores.Summarize(s.Outcomes), s.Seconds, s.Dice)).ToList();
        var rows = new List<VilaM3Row>();
        foreach (var name in summaries[0].Summary.Rows.Select(r => r.Family))
        {
            var subsets = perSeed.Select(s => Subset(s.Outcomes, name)).ToList();
            var seedRows = summaries.Select(s => s.Summary.Rows.Single(r => r.Family == name)).ToList();
            bool hasRule = seedRows.All(r => r.ExpertAlone is not null);
            var withExperts = subsets.Select(o => (IReadOnlyList<bool>)o.Select(q => ExpertRule.Matches(q.VlmWithExperts, q.Expected)).ToList()).ToList();
            var without = subsets.Select(o => (IReadOnlyList<bool>)o.Select(q => ExpertRule.Matches(q.Vlm, q.Expected)).ToList()).ToList();
            var rule = subsets.Select(o => (IReadOnlyList<bool>)o.Select(q => ExpertRule.Matches(q.ExpertAlone, q.Expected)).ToList()).ToList();
            rows.Add(new VilaM3Row(name, seedRows[0].Questions,
                Acc(seedRows.Select(r => r.Vlm)), Acc(seedRows.Select(r => r.VlmWithExperts)),
                hasRule ? Acc(seedRows.Select(r => r.ExpertAlone!.Value)) : null,
                Acc(seedRows.Select(r => r.TextOnly ?? double.NaN)),
                PairedStatistics.Compare(withExperts, without),
                hasRule ? PairedStatistics.Compare(withExperts, rule) : null));
        }
        return new VilaM3StudyResult(summaries, rows,
            Acc(summaries.Select(s => s.Summary.TriggerPrecision)), Acc(summaries.Select(s => s.Summary.TriggerRecall)),
            Acc(summaries.Select(s => s.Summary.TriggerExactArguments)), Acc(summaries.Select(s => s.Summary.SilentWhenNotNeeded)),
            new
            {
                options.Training.BatchSize, options.Training.SegmenterSteps, options.Training.VisionSteps, options.Training.AlignSteps, options.Training.InstructSteps,
                options.Training.ExpertSteps, options.Training.LearningRate, options.Training.CardsFraction, model = options.Training.Model,
            }, options.PerFamily);
    }

    private static List<QuestionOutcome> Subset(List<QuestionOutcome> outcomes, string row) => row switch
    {
        "held-out regions" => outcomes.Where(o => o.HeldOutRegion).ToList(),
        "expert families" => outcomes.Where(o => o.NeededTrigger is not null).ToList(),
        "overall" => outcomes,
        _ => outcomes.Where(o => VlmScores.Name(o.Family) == row).ToList(),
    };

    private static SeedAccuracy Acc(IEnumerable<double> values)
    {
        var (mean, std) = SeedStatistics.MeanStd(values);
        return new SeedAccuracy(mean, std);
    }

    /// <summary>The result table and the claim checks, as markdown.</summary>
    public static string Markdown(VilaM3StudyResult result)
    {
        static string P(SeedAccuracy? a) => a is null ? "–" : FormattableString.Invariant($"{100 * a.Mean:F1} ± {100 * a.Std:F1}");
        static string D(PairedComparison? c) => c is null ? "–"
            : $"{SignedFormat.Points(100 * c.MeanDifference)} [{SignedFormat.Points(100 * c.CiLow)}, {SignedFormat.Points(100 * c.CiHigh)}], p {PairedStatistics.FormatP(c.McNemarP)}: {Verdict(c)}";
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(FormattableString.Invariant($"Accuracy (%) on held-out slices, mean ± sd over {result.Seeds.Count} seeds ({string.Join(", ", result.Seeds.Select(s => s.Seed))}); {result.PerFamily} questions per family, the same for every condition and seed."));
        sb.AppendLine("Differences are paired: mean over seeds [95% t interval], exact McNemar p pooled over seeds; \"tie\" unless both exclude no difference.");
        sb.AppendLine();
        sb.AppendLine("| questions | n | (a) VLM | (b) VLM + expert | (c) expert alone | (d) text only | (b) − (a) | (b) − (c) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
            sb.AppendLine($"| {r.Family} | {r.Questions} | {P(r.Vlm)} | {P(r.VlmWithExperts)} | {P(r.ExpertAlone)} | {P(r.TextOnly)} | {D(r.ExpertsVsNone)} | {D(r.ExpertsVsExpertAlone)} |");
        sb.AppendLine();
        sb.AppendLine(FormattableString.Invariant(
            $"Triggers of (b): precision {P(result.TriggerPrecision)}, recall {P(result.TriggerRecall)}, exactly right (expert and arguments) {P(result.TriggerExactArguments)}, no trigger where none is needed {P(result.SilentWhenNotNeeded)}."));
        sb.AppendLine();
        var dice = result.Seeds.Where(s => s.Segmenter is not null).Select(s => s.Segmenter!).ToList();
        if (dice.Count > 0)
        {
            var lobes = dice[0].PerLobe.Keys.ToList();
            sb.AppendLine(FormattableString.Invariant($"The learned segmentation expert (SEGMENT) on the {dice[0].Slices} held-out slices, Dice mean ± sd over seeds: ")
                + string.Join(", ", lobes.Select(l => FormattableString.Invariant($"{l} {P(Acc(dice.Select(d => d.PerLobe[l])))}")))
                + FormattableString.Invariant($"; mean {P(Acc(dice.Select(d => d.MeanDice)))}, pixel accuracy {P(Acc(dice.Select(d => d.PixelAccuracy)))} (Dice in %)."));
            sb.AppendLine();
        }
        var overall = result.Rows.Single(r => r.Family == "overall");
        var expertRows = result.Rows.Single(r => r.Family == "expert families");
        sb.AppendLine(FormattableString.Invariant(
            $"- (b) > (a), overall: {(overall.ExpertsVsNone.Verdict == "A better" ? "holds" : "does not hold")} ({D(overall.ExpertsVsNone)})."));
        sb.AppendLine(FormattableString.Invariant(
            $"- (b) ≥ (c), on the questions an expert answers: {(expertRows.ExpertsVsExpertAlone!.Verdict == "B better" ? "does not hold" : "holds")} ({D(expertRows.ExpertsVsExpertAlone)})."));
        return sb.ToString();
    }

    private static string Verdict(PairedComparison c) => c.Verdict switch { "A better" => "higher", "B better" => "lower", _ => "tie" };
}
