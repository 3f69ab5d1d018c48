// `condense sparsify`: loads a llama2.c model, measures its dense perplexity, applies each requested 2:4 method
// to a fresh copy (magnitude, Wanda, SparseGPT with the OBS update, SparseGPT without it, MaskLLM), measures the
// sparse perplexity on the same text, verifies the 2:4 pattern, and exports each sparse model. MaskLLM starts from
// a prior mask: a one-shot method's (default: SparseGPT without update, MaskLLM's default) or a mask file of an
// earlier run (transfer: a general mask as the prior of a domain mask).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Condense.Core;
using Condense.Core.IO;
using Condense.Core.Training;
using Condense.Language.Checkpoints;
using Condense.Language.Evaluation;
using Condense.Language.Models;
using Condense.Language.Text;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>What <c>condense sparsify</c> does.</summary>
public sealed record SparsifyOptions
{
    /// <summary>llama2.c file or Hugging Face folder; null: the shared default model.</summary>
    public string? ModelPath { get; init; }
    /// <summary>llama2.c tokenizer; null: tok512.bin beside the model, else the shared default.</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Folder for the sparse models and report.json.</summary>
    public required string OutDir { get; init; }
    /// <summary>Methods to run, in order (names from <see cref="SparsifyRun.MethodNames"/>).</summary>
    public required IReadOnlyList<string> Methods { get; init; }
    /// <summary>Text the calibration windows are drawn from.</summary>
    public required string CalibrationText { get; init; }
    /// <summary>Text the perplexity is measured on.</summary>
    public required string EvalText { get; init; }
    /// <summary>Mask-training text for MaskLLM (default: the calibration text).</summary>
    public string? TrainText { get; init; }
    /// <summary>Number of calibration windows.</summary>
    public int CalibrationSamples { get; init; } = 128;
    /// <summary>Calibration window length (clamped to the model's sequence length).</summary>
    public int CalibrationSeqLen { get; init; } = 256;
    /// <summary>Evaluate on the first N documents only (0: all).</summary>
    public int EvalDocs { get; init; }
    /// <summary>MaskLLM prior: a one-shot method name or the path of a <c>.mask24.safetensors</c> file.</summary>
    public string Prior { get; init; } = "sparsegpt-noupdate";
    /// <summary>Keep only documents (of the calibration, training and evaluation texts) matching this regex: a domain subset.</summary>
    public string? DocumentFilter { get; init; }
    /// <summary>Seed of the calibration windows and of MaskLLM training.</summary>
    public long Seed { get; init; }
    /// <summary>MaskLLM settings (its run folder, seed and progress mode are set by the run).</summary>
    public required MaskLlmOptions MaskLlm { get; init; }
    /// <summary>How progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
}

/// <summary>One method's outcome.</summary>
public sealed record MethodResult(string Method, double Nll, double Ppl, long CalibrationTokens, long TrainingTokens,
    double WallSeconds, string Checkpoint, bool Verified, string? Detail);

/// <summary>The whole run: the dense baseline and each method.</summary>
public sealed record SparsifyReport(string Model, double DenseNll, double DensePpl, long EvalTokens, int EvalDocuments,
    IReadOnlyList<MethodResult> Methods, string ReportPath);

/// <summary>Runs the sparsify pipeline.</summary>
public static class SparsifyRun
{
    /// <summary>The method names <see cref="SparsifyOptions.Methods"/> accepts.</summary>
    public static readonly IReadOnlyList<string> MethodNames = ["magnitude", "wanda", "sparsegpt", "sparsegpt-noupdate", "maskllm", "prior"];

    /// <summary>The one-shot methods, which may also serve as MaskLLM's prior.</summary>
    public static readonly IReadOnlyList<string> OneShotNames = ["magnitude", "wanda", "sparsegpt", "sparsegpt-noupdate"];

    /// <summary>
    /// The one-shot method of a name, or null for maskllm and prior (the prior mask applied as it is, e.g. a general
    /// mask evaluated on a domain); throws <see cref="InputException"/> on an unknown one.
    /// </summary>
    public static OneShotMethod? Parse(string method) => method switch
    {
        "magnitude" => OneShotMethod.Magnitude,
        "wanda" => OneShotMethod.Wanda,
        "sparsegpt" => OneShotMethod.SparseGpt,
        "sparsegpt-noupdate" => OneShotMethod.SparseGptNoUpdate,
        "maskllm" or "prior" => null,
        _ => throw new InputException($"unknown method '{method}' (expected one of {string.Join(", ", MethodNames)})"),
    };

    /// <summary>
    /// Measures the dense perplexity, applies every method of <paramref name="o"/> to a fresh copy of the model, measures,
    /// verifies and exports each sparse model, and writes report.json into <see cref="SparsifyOptions.OutDir"/>; returns the report.
    /// </summary>
    public static SparsifyReport Run(SparsifyOptions o, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        log ??= _ => { };
        foreach (var m in o.Methods) Parse(m);
        OutputPaths.RequireWritableDirectory(o.OutDir, nameof(o.OutDir));   // before any work, not after it
        bool priorIsMethod = OneShotNames.Contains(o.Prior);
        if (!priorIsMethod && !File.Exists(o.Prior))
            throw InputException.ForOption("Prior", $"'{o.Prior}' is neither a one-shot method ({string.Join(", ", OneShotNames)}) nor an existing mask file");
        var filter = o.DocumentFilter is null ? null : new System.Text.RegularExpressions.Regex(o.DocumentFilter);
        var (dense, tokenizer, modelPath, _) = LanguageModelFiles.Load(o.ModelPath, o.TokenizerPath);
        using var _ = dense;
        int seqLen = dense.Config.MaxSeqLen;

        var evalDocs = TokenCorpus.Documents(o.EvalText, filter);
        if (o.EvalDocs > 0) evalDocs = evalDocs.Take(o.EvalDocs).ToList();
        var (evalSeqs, truncated) = Evaluation.Perplexity.Tokenize(tokenizer, evalDocs, seqLen);
        var calibration = TokenCorpus.FromFile(o.CalibrationText, tokenizer, filter);
        int calibLen = Math.Min(o.CalibrationSeqLen, seqLen);
        using var calibTokens = calibration.RandomWindows(o.CalibrationSamples, calibLen, o.Seed);
        var train = o.TrainText is null ? calibration : TokenCorpus.FromFile(o.TrainText, tokenizer, filter);

        var (denseNll, evalTokens) = Ppl(dense, evalSeqs, truncated, o.Progress, "dense ppl");
        log(string.Create(CultureInfo.InvariantCulture, $"dense: ppl {Math.Exp(denseNll):F4} over {evalTokens} tokens"));

        var results = new List<MethodResult>();
        foreach (var name in o.Methods)
        {
            cancellation.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using var model = LlamaCheckpoint.Copy(dense);                   // every method starts from the dense weights
            Dictionary<string, Tensor> masks;
            long calibUsed, trainUsed = 0;
            string? detail = null;
            var method = Parse(name);
            if (method is { } oneShot)
            {
                (masks, calibUsed) = PruneWithProgress(model, oneShot, calibTokens, o.Progress, name);
            }
            else
            {
                Dictionary<string, Tensor> prior;
                if (priorIsMethod)
                {
                    using var priorModel = LlamaCheckpoint.Copy(dense);
                    (prior, calibUsed) = PruneWithProgress(priorModel, Parse(o.Prior)!.Value, calibTokens, o.Progress, $"prior {o.Prior}");
                }
                else
                {
                    prior = LoadPrior(o.Prior, model.Config);
                    calibUsed = 0;
                }
                if (name == "prior")
                {
                    masks = prior;
                    using (no_grad())
                        foreach (var l in PrunableLinears.Of(model)) l.Weight.mul_(masks[l.Name]);
                    detail = $"prior {Path.GetFileName(o.Prior)} applied as it is";
                }
                else
                {
                    var mo = o.MaskLlm with { RunDir = Path.Combine(o.OutDir, "maskllm-run"), Progress = o.Progress, Seed = o.Seed };
                    var trained = MaskLlmTraining.Train(model, train, prior, mo, cancellation);
                    masks = trained.Masks;
                    trainUsed = trained.TokensSeen;
                    int changed = masks.Sum(kv => (int)(kv.Value != prior[kv.Key]).reshape(-1, TwoFour.M).any(-1).sum().item<long>());
                    long groups = masks.Values.Sum(m => m.numel() / TwoFour.M);
                    detail = string.Create(CultureInfo.InvariantCulture,
                        $"prior {Path.GetFileName(o.Prior)}; {trained.Steps} steps; final LM loss {trained.FinalLmLoss:F4}; {changed} of {groups} groups ({100.0 * changed / groups:F1}%) moved off the prior");
                    foreach (var m in prior.Values) m.Dispose();
                }
            }
            var (nll, _) = Ppl(model, evalSeqs, truncated, o.Progress, $"{name} ppl");
            var path = Export(model, masks, Path.Combine(o.OutDir, name));
            var verify = SparseCheckpoint.Verify(path);
            if (!verify.Ok) throw new InvalidOperationException($"{name}: exported model fails 2:4 verification: {verify.Problem}");
            var r = new MethodResult(name, nll, Math.Exp(nll), calibUsed, trainUsed, clock.Elapsed.TotalSeconds, path, verify.Ok, detail);
            results.Add(r);
            log(string.Create(CultureInfo.InvariantCulture, $"{name}: ppl {r.Ppl:F4} ({r.WallSeconds:F1} s){(detail is null ? "" : "; " + detail)}"));
            foreach (var m in masks.Values) m.Dispose();
        }
        var reportPath = Path.Combine(o.OutDir, "report.json");
        var report = new SparsifyReport(Path.GetFullPath(modelPath), denseNll, Math.Exp(denseNll), evalTokens, evalSeqs.Count, results, reportPath);
        Condense.Core.IO.AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        return report;
    }

    /// <summary>The repository's perplexity protocol (Evaluation.Perplexity) with a progress bar: mean NLL and predicted tokens.</summary>
    private static (double Nll, long Tokens) Ppl(LlamaForCausalLM model, List<int[]> sequences, int truncated,
        ProgressMode progress, string description)
    {
        PerplexityResult? result = null;
        TrainingProgress.RunItems(progress, description, sequences.Count,
            report => result = Evaluation.Perplexity.Evaluate(model, sequences, truncated, progress: report));
        return (result!.MeanNll, result.Tokens);
    }

    private static (Dictionary<string, Tensor>, long) PruneWithProgress(LlamaForCausalLM model, OneShotMethod method,
        Tensor calibration, ProgressMode progress, string description)
    {
        (Dictionary<string, Tensor>, long) result = default;
        TrainingProgress.RunItems(progress, description, model.Config.NLayers, report =>
            result = OneShotPruner.Prune(model, method, method == OneShotMethod.Magnitude ? null : calibration, _ => report(1)));
        return result;
    }

    /// <summary>
    /// Writes <c>DIR/model.bin</c> (llama2.c) and a Hugging Face directory (<c>DIR/config.json</c>,
    /// <c>DIR/model.safetensors</c>, rotate-half q/k) with the packed mask file beside it; returns the safetensors path.
    /// </summary>
    public static string Export(LlamaForCausalLM model, IReadOnlyDictionary<string, Tensor> masks, string dir)
    {
        Directory.CreateDirectory(dir);
        Llama2cCheckpoint.Write(model, Path.Combine(dir, "model.bin"));
        HfLlamaCheckpoint.Write(model, dir);
        using var scope = NewDisposeScope();
        var hfMasks = masks.ToDictionary(m => m.Key, m => ToLayout(m.Key, m.Value, model.Config, RopeLayout.RotateHalf));
        var path = Path.Combine(dir, "model.safetensors");
        SparseCheckpoint.SaveMasks(path, hfMasks);
        return path;
    }

    /// <summary>A q/k mask moved between RoPE row layouts (other masks unchanged): 2:4 groups lie within a row, so rows can move freely.</summary>
    private static Tensor ToLayout(string name, Tensor mask, LlamaConfig config, RopeLayout target)
    {
        if (config.RopeLayout == target || LlamaConversion.RotaryHeads(config, name) is not int heads) return mask;
        return target == RopeLayout.RotateHalf
            ? LlamaConversion.InterleavedToRotateHalf(mask, heads)
            : LlamaConversion.RotateHalfToInterleaved(mask, heads);
    }

    /// <summary>Masks of an earlier run's mask file (HF layout) in the layout of <paramref name="config"/>.</summary>
    private static Dictionary<string, Tensor> LoadPrior(string maskFile, LlamaConfig config)
    {
        var modelFile = maskFile.EndsWith(".mask24.safetensors", StringComparison.Ordinal)
            ? maskFile[..^".mask24.safetensors".Length] + ".safetensors"
            : throw new InputException($"{maskFile}: a prior mask file must be named *.mask24.safetensors (beside its model.safetensors)");
        var masks = SparseCheckpoint.LoadMasks(modelFile);
        foreach (var name in masks.Keys.ToList())
            masks[name] = ToLayout(name, masks[name], config with { RopeLayout = RopeLayout.RotateHalf }, config.RopeLayout);
        return masks;
    }
}
