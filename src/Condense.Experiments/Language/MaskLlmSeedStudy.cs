// `condense study maskllm-seeds`: MaskLLM's quality target (its perplexity gap to the dense model at most half of
// the best one-shot method's) over several seeds instead of one. Each seed draws its own calibration windows (so
// SparseGPT's mask changes too), gate initialisation and Gumbel noise; per seed the ratio
// gap(MaskLLM) / gap(SparseGPT with update) is computed on the same evaluation text, then mean and sample std.
using Condense.Core;
using Condense.Language.Sparsity;

namespace Condense.Experiments.Language;

/// <summary>One seed: dense, SparseGPT and MaskLLM perplexity and the gap ratio.</summary>
public sealed record MaskLlmSeedRow(long Seed, double DensePpl, double SparseGptPpl, double MaskLlmPpl, double GapRatio);

/// <summary>All seeds and the ratio's mean and sample std.</summary>
public sealed record MaskLlmSeedResult(string Model, long Steps, long TrainingTokens, int EvalDocuments, IReadOnlyList<MaskLlmSeedRow> Seeds,
    double MeanGapRatio, double StdGapRatio, double Target, bool TargetMetOnAverage, int SeedsMeetingTarget);

/// <summary>Runs the sparsify pipeline (SparseGPT and MaskLLM) once per seed.</summary>
public static class MaskLlmSeedStudy
{
    /// <summary>MaskLLM's gap may be at most this fraction of the best one-shot gap.</summary>
    public const double Target = 0.5;

    /// <param name="baseOptions">The sparsify options every seed shares; Methods, Seed and OutDir are set per seed.</param>
    public static MaskLlmSeedResult Run(SparsifyOptions baseOptions, int seeds, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(baseOptions);
        if (seeds < 1) throw InputException.ForOption("Seeds", $"{seeds}: must be at least 1");
        var rows = new List<MaskLlmSeedRow>();
        long tokens = 0;
        int evalDocs = 0;
        string model = "";
        for (long seed = 0; seed < seeds; seed++)
        {
            log?.Invoke($"[maskllm seeds] seed {seed}");
            var report = SparsifyRun.Run(baseOptions with
            {
                Methods = ["sparsegpt", "maskllm"],
                Seed = seed,
                OutDir = Path.Combine(baseOptions.OutDir, $"seed{seed}"),
            }, log, cancellation);
            var sparseGpt = report.Methods.Single(m => m.Method == "sparsegpt");
            var maskLlm = report.Methods.Single(m => m.Method == "maskllm");
            tokens = maskLlm.TrainingTokens;
            evalDocs = report.EvalDocuments;
            model = report.Model;
            rows.Add(new MaskLlmSeedRow(seed, report.DensePpl, sparseGpt.Ppl, maskLlm.Ppl,
                (maskLlm.Ppl - report.DensePpl) / (sparseGpt.Ppl - report.DensePpl)));
        }
        var (mean, std) = Statistics.SeedStatistics.MeanStd(rows.Select(r => r.GapRatio));
        return new MaskLlmSeedResult(model, baseOptions.MaskLlm.Steps, tokens, evalDocs, rows,
            mean, std, Target, mean <= Target, rows.Count(r => r.GapRatio <= Target));
    }
}
