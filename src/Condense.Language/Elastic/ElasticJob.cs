// The Flextron pipeline on files, as `condense elastic train | eval | export` runs it: load a LLaMA, rank its units on
// calibration text, sort them (NestedOrder), keep that sorted-but-untrained model (the "pruned, no retraining"
// baseline), run elastic continued training (resumable), and write the elastic model as a Hugging Face folder with
// elastic.json (its candidate widths and what trained it) and the tokenizer beside it. Evaluation extracts each
// width as a dense model and measures perplexity the repository's way; export writes one width as an ordinary model.
using System.Text.Json;
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Language.Checkpoints;
using Condense.Language.Evaluation;
using Condense.Language.Models;
using Condense.Language.Text;

namespace Condense.Language.Elastic;

/// <summary>Settings of <see cref="ElasticJob.Train"/>.</summary>
public sealed record ElasticJobOptions
{
    /// <summary>The LLaMA to make elastic (llama2.c file or Hugging Face folder).</summary>
    public required string ModelPath { get; init; }
    /// <summary>Its tokenizer (default: beside the model, else the shared tok512).</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Output folder: run/ (checkpoints, metrics), sorted/ (the baseline), elastic/ (the result).</summary>
    public required string OutDir { get; init; }
    /// <summary>Text for calibration and training.</summary>
    public required string TrainText { get; init; }
    /// <summary>Calibration windows for the importance ranking.</summary>
    public int CalibrationWindows { get; init; } = 64;
    /// <summary>Tokens per calibration window.</summary>
    public int CalibrationSeqLen { get; init; } = 256;
    /// <summary>The training itself (RunDir is set from <see cref="OutDir"/>).</summary>
    public required ElasticTrainingOptions Training { get; init; }
    /// <summary>
    /// Distil the full width from the original (sorted, frozen) model as well, the signal the separately retrained
    /// baselines get, so shared weights pulled by the narrow widths keep the full model near the original.
    /// </summary>
    public bool AnchorToOriginal { get; init; }
}

/// <summary>What elastic.json records beside an elastic model.</summary>
/// <param name="Candidates">The widths it was trained for.</param>
/// <param name="Source">The model it came from.</param>
/// <param name="TrainingTokens">Tokens of elastic training (0 for the sorted baseline).</param>
/// <param name="Steps">Training steps.</param>
/// <param name="Seed">Seed of calibration windows, batches and sub-network draws.</param>
public sealed record ElasticMetadata(ElasticCandidates Candidates, string Source, long TrainingTokens, long Steps, long Seed);

/// <summary>One width's perplexity.</summary>
public sealed record ElasticEvalRow(double MlpFraction, double HeadFraction, string Widths, long Parameters, double Nll, double Perplexity);

/// <summary>One budget of a routed model: the sub-network its routers pick, its perplexity and latency against the target.</summary>
/// <param name="Budget">Requested fraction of the full model's latency.</param>
/// <param name="Widths">The routed sub-network.</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="Perplexity">Its perplexity.</param>
/// <param name="PredictedMs">Latency the table predicts for it.</param>
/// <param name="MeasuredMs">Latency measured end to end.</param>
/// <param name="TargetMs">Budget × the full model's measured latency (same session).</param>
public sealed record RoutedEvalRow(double Budget, string Widths, long Parameters, double Perplexity, double PredictedMs, double MeasuredMs, double TargetMs)
{
    /// <summary>measured / target − 1.</summary>
    public double TargetError => MeasuredMs / TargetMs - 1;
}

/// <summary>What <see cref="ElasticJob.Train"/> produced.</summary>
public sealed record ElasticTrainReport(string ElasticDir, string SortedDir, ElasticTrainingResult Training, int LayersReordered);

/// <summary>Train, evaluate and export elastic models on files.</summary>
public static class ElasticJob
{
    /// <summary>The file beside an elastic model's weights that makes it one.</summary>
    public const string MetadataFile = "elastic.json";

    /// <summary>The routers of a routed elastic model.</summary>
    public const string RoutersFile = "routers.safetensors";

    /// <summary>The latency table a routed model's routers were trained against (a copy).</summary>
    public const string LatencyFile = "latency.json";

    /// <summary>Ranks, sorts and elastically trains <see cref="ElasticJobOptions.ModelPath"/>; resumes an interrupted run.</summary>
    public static ElasticTrainReport Train(ElasticJobOptions options, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CalibrationWindows < 1) throw InputException.ForOption(nameof(options.CalibrationWindows), $"{options.CalibrationWindows}: must be at least 1");
        var (lm, tokenizer, modelPath, tokenizerPath) = LanguageModelFiles.Load(options.ModelPath, options.TokenizerPath);
        using var _ = lm;
        if (lm.Config.RemovedAttention is { Count: > 0 } || lm.Config.RemovedMlp is { Count: > 0 } || lm.Config.HasLayerWidths)
            throw new InputException($"{modelPath}: already pruned ({lm.Config.PrunedSummary()}); elastic training starts from a full model");
        options.Training.Candidates.Validate(lm.Config);
        int calibLen = Math.Min(options.CalibrationSeqLen, lm.Config.MaxSeqLen);
        var text = TokenCorpus.FromFile(options.TrainText, tokenizer);
        var elastic = new ElasticLlama(lm);

        log?.Invoke($"[elastic] ranking units on {options.CalibrationWindows} windows of {calibLen} tokens");
        using (var windows = text.RandomWindows(options.CalibrationWindows, calibLen, options.Training.Seed ^ 0x1A2B3C, 0))
        {
            var order = NestedOrder.FromImportance(lm.Config, WidthImportance.Measure(elastic, windows));
            NestedOrder.Apply(lm, order);
            int reordered = order.Mlp.Count(o => !o.SequenceEqual(Enumerable.Range(0, o.Length)));
            var sortedDir = Path.Combine(options.OutDir, "sorted");
            Save(lm, sortedDir, tokenizerPath, new ElasticMetadata(options.Training.Candidates, modelPath, 0, 0, options.Training.Seed));

            var runDir = Path.Combine(options.OutDir, "run");
            using var anchor = options.AnchorToOriginal ? HfLlamaCheckpoint.Read(sortedDir) : null;
            anchor?.eval();
            var training = options.Training with { RunDir = runDir, Teacher = anchor ?? options.Training.Teacher };
            var result = ElasticTraining.Train(elastic, text, training, cancellation);
            var elasticDir = Path.Combine(options.OutDir, "elastic");
            Save(lm, elasticDir, tokenizerPath, new ElasticMetadata(options.Training.Candidates, modelPath, result.TokensSeen, result.Steps, options.Training.Seed));
            log?.Invoke($"[elastic] wrote {elasticDir}");
            return new ElasticTrainReport(elasticDir, sortedDir, result, reordered);
        }
    }

    private static void Save(LlamaForCausalLM model, string dir, string tokenizerPath, ElasticMetadata metadata)
    {
        HfLlamaCheckpoint.Write(model, dir);
        File.Copy(tokenizerPath, Path.Combine(dir, LanguageModelFiles.TokenizerFileName), overwrite: true);
        AtomicFile.WriteAllText(Path.Combine(dir, MetadataFile), JsonSerializer.Serialize(metadata, JsonOptions) + "\n");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>An elastic model folder: the model, its tokenizer and its metadata; a folder without elastic.json is refused.</summary>
    public static (ElasticLlama Model, Tokenizers.Llama2cTokenizer Tokenizer, string TokenizerPath, ElasticMetadata Metadata) Load(string dir, string? tokenizerPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        var metaPath = Path.Combine(dir, MetadataFile);
        if (!Directory.Exists(dir) || !File.Exists(metaPath))
            throw new InputException($"{dir}: not an elastic model (no {MetadataFile}; make one with `elastic train`)");
        ElasticMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<ElasticMetadata>(File.ReadAllText(metaPath), JsonOptions)
                ?? throw new InputException($"{metaPath}: empty");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{metaPath}: not valid elastic metadata ({ex.Message.Split('\n')[0]})", ex);
        }
        var (lm, tokenizer, _, tokPath) = LanguageModelFiles.Load(dir, tokenizerPath);
        try
        {
            if (metadata.Candidates is null) throw new InputException($"{metaPath}: no candidates");
            metadata.Candidates.Validate(lm.Config);
            return (new ElasticLlama(lm), tokenizer, tokPath, metadata);
        }
        catch
        {
            lm.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Trains static routers for the elastic model in <paramref name="elasticDir"/> against the latency table at
    /// <paramref name="latencyPath"/> (model and routers are fine-tuned together in the last phase) and writes the routed
    /// model to <paramref name="outDir"/>: weights, tokenizer, elastic.json, routers.safetensors and a copy of the table.
    /// </summary>
    public static RouterTrainingResult TrainRouters(string elasticDir, string latencyPath, string outDir, string trainText,
        RouterTrainingOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var table = LatencyTable.Load(latencyPath);
        var (model, tokenizer, tokenizerPath, metadata) = Load(elasticDir);
        using var _ = model.Model;
        CheckTable(table, model.Config, metadata.Candidates, latencyPath);
        var text = TokenCorpus.FromFile(trainText, tokenizer);
        TorchSharp.torch.manual_seed(options.Seed);
        using var routers = NewRouters(model.Config, metadata.Candidates);
        var result = RouterTraining.Train(model, routers, metadata.Candidates, table, text, options, log);
        Save(model.Model, outDir, tokenizerPath, metadata);
        ModuleCheckpoint.SaveSafetensors(routers, Path.Combine(outDir, RoutersFile));
        table.Save(Path.Combine(outDir, LatencyFile));
        return result;
    }

    private static StaticRouters NewRouters(LlamaConfig config, ElasticCandidates candidates) =>
        new(config.NLayers, candidates.AttentionUnits(config).Length, candidates.MlpUnits(config).Length);

    /// <summary>The routers and latency table of a routed model folder; an elastic folder without routers is refused.</summary>
    public static (StaticRouters Routers, LatencyTable Table) LoadRouters(string dir, LlamaConfig config, ElasticCandidates candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var path = Path.Combine(dir, RoutersFile);
        if (!File.Exists(path)) throw new InputException($"{dir}: no {RoutersFile} (train routers with `elastic routers`, or give a width instead of a budget)");
        var routers = NewRouters(config, candidates);
        try
        {
            ModuleCheckpoint.LoadSafetensors(routers, path);
            var table = LatencyTable.Load(Path.Combine(dir, LatencyFile));
            CheckTable(table, config, candidates, Path.Combine(dir, LatencyFile));
            return (routers, table);
        }
        catch
        {
            routers.Dispose();
            throw;
        }
    }

    private static void CheckTable(LatencyTable table, LlamaConfig config, ElasticCandidates candidates, string path)
    {
        if (table.Layers != config.NLayers)
            throw new InputException($"{path}: a table for {table.Layers} layers, the model has {config.NLayers}");
        foreach (var a in candidates.AttentionUnits(config))
            if (!table.HasAttention(a)) throw new InputException($"{path}: no entry for attention {a.AttentionKey} (head groups, x query heads per group; measure it for this model's candidates)");
        foreach (var k in candidates.MlpUnits(config))
            if (!table.Mlp.ContainsKey(k)) throw new InputException($"{path}: no entry for {k} MLP neurons (measure it for this model's candidates)");
    }

    /// <summary>
    /// Trains per-token MLP routers for the elastic model in <paramref name="elasticDir"/> (saved to <paramref name="routersPath"/>;
    /// an existing file is loaded instead of retraining) and evaluates each budget against the static sub-network of equal
    /// mean width and against masking, timed on the native engine.
    /// </summary>
    public static IReadOnlyList<DynamicEvalRow> Dynamic(string elasticDir, string routersPath, string trainText, string evalText,
        IReadOnlyList<double> budgets, DynamicRoutingOptions options, int evalDocs, LatencyOptions timing, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var b in budgets)
            if (!(b > 0 && b <= 1)) throw InputException.ForOption("Budgets", $"{b}: each budget must be in (0, 1]");
        var (model, tokenizer, _, metadata) = Load(elasticDir);
        using var _ = model.Model;
        var units = metadata.Candidates.MlpUnits(model.Config);
        TorchSharp.torch.manual_seed(options.Seed);
        using var routers = new DynamicMlpRouters(model.Config.NLayers, model.Config.Dim, units.Length);
        if (File.Exists(routersPath))
        {
            ModuleCheckpoint.LoadSafetensors(routers, routersPath);
            log?.Invoke($"[dynamic routers] loaded {routersPath}");
        }
        else
        {
            DynamicRouting.Train(model, routers, units, ElasticWidths.Full(model.Config), TokenCorpus.FromFile(trainText, tokenizer), options, log);
            var dir = Path.GetDirectoryName(Path.GetFullPath(routersPath))!;
            Directory.CreateDirectory(dir);
            var temp = routersPath + ".tmp";
            ModuleCheckpoint.SaveSafetensors(routers, temp);
            File.Move(temp, routersPath, overwrite: true);
        }
        routers.eval();
        return budgets.Select(b =>
        {
            var row = DynamicRouting.Evaluate(model, routers, units, tokenizer, evalText, b, evalDocs, timing, log);
            log?.Invoke(FormattableString.Invariant($"[dynamic routers] budget {b:P0}: {row.MlpFraction:P0} of MLP neurons, PPL {row.RoutedPerplexity:F3} (native {row.NativeRoutedPerplexity:F3}, static {row.StaticPerplexity:F3}); decode ms grouped {row.Grouped.DecodeMs:F4}, static {row.Static.DecodeMs:F4}, masked {row.Masked.DecodeMs:F4}, full {row.Full.DecodeMs:F4}"));
            return row;
        }).ToList();
    }

    /// <summary>The first <paramref name="evalDocs"/> documents of <paramref name="evalText"/> (all when 0), tokenized as eval-ppl does.</summary>
    internal static (List<int[]> Sequences, int Truncated) EvalSequences(Tokenizers.Llama2cTokenizer tokenizer, string evalText, int evalDocs, int maxSeqLen)
    {
        var docs = TokenCorpus.Documents(evalText, null);
        if (evalDocs > 0) docs = docs.Take(evalDocs).ToList();
        return Perplexity.Tokenize(tokenizer, docs, maxSeqLen);
    }

    /// <summary>Perplexity of each uniform width (fractions of MLP neurons and head groups, applied to both) on <paramref name="evalText"/>.</summary>
    public static IReadOnlyList<ElasticEvalRow> Evaluate(ElasticLlama model, Tokenizers.Llama2cTokenizer tokenizer, string evalText,
        IReadOnlyList<double> fractions, int evalDocs = 0, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (sequences, truncated) = EvalSequences(tokenizer, evalText, evalDocs, model.Config.MaxSeqLen);
        return Evaluate(model, sequences, truncated, fractions, log);
    }

    /// <summary>Perplexity of each uniform width on documents already tokenized by <see cref="Perplexity.Tokenize"/>.</summary>
    public static IReadOnlyList<ElasticEvalRow> Evaluate(ElasticLlama model, IReadOnlyList<int[]> sequences, int truncated,
        IReadOnlyList<double> fractions, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(fractions);
        foreach (var f in fractions)
            if (!(f > 0 && f <= 1)) throw InputException.ForOption("Fractions", $"{f}: each width must be in (0, 1]");
        var rows = new List<ElasticEvalRow>();
        foreach (var f in fractions)
        {
            var widths = ElasticWidths.Uniform(model.Config, f, f);
            using var sub = model.Extract(widths);
            var ppl = Perplexity.Evaluate(sub, sequences, truncated);
            log?.Invoke(FormattableString.Invariant($"[elastic] width {f:P0}: PPL {ppl.Perplexity:F3}"));
            rows.Add(new ElasticEvalRow(f, f, widths.ToString(), sub.Config.ParameterCount(), ppl.MeanNll, ppl.Perplexity));
        }
        return rows;
    }

    /// <summary>
    /// For each budget, the routers' sub-network: perplexity on <paramref name="evalText"/>, and its latency (prefill, or
    /// decode with <paramref name="decode"/>) measured end to end against budget × the full model's, timed in the same session.
    /// </summary>
    public static IReadOnlyList<RoutedEvalRow> EvaluateRouted(ElasticLlama model, StaticRouters routers, LatencyTable table, ElasticCandidates candidates,
        Tokenizers.Llama2cTokenizer tokenizer, string evalText, IReadOnlyList<double> budgets, bool decode, LatencyOptions latency,
        int evalDocs = 0, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(routers);
        ArgumentNullException.ThrowIfNull(budgets);
        foreach (var b in budgets)
            if (!(b > 0 && b <= 1)) throw InputException.ForOption("Budgets", $"{b}: each budget must be in (0, 1]");
        var heads = candidates.AttentionUnits(model.Config);
        var mlps = candidates.MlpUnits(model.Config);
        var routed = budgets.Select(b => routers.Route(b, heads, mlps)).ToList();
        var checks = LatencyValidation.Check(model, table, [ElasticWidths.Full(model.Config), .. routed], latency, log, reference: 0);
        double Measured(LatencyCheck c) => decode ? c.MeasuredDecodeMs : c.MeasuredPrefillMs;
        double fullMs = Measured(checks[0]);
        var (sequences, truncated) = EvalSequences(tokenizer, evalText, evalDocs, model.Config.MaxSeqLen);
        var rows = new List<RoutedEvalRow>();
        for (int i = 0; i < budgets.Count; i++)
        {
            using var sub = model.Extract(routed[i]);
            var ppl = Perplexity.Evaluate(sub, sequences, truncated);
            var c = checks[i + 1];
            rows.Add(new RoutedEvalRow(budgets[i], routed[i].ToString(), sub.Config.ParameterCount(), ppl.Perplexity,
                decode ? c.PredictedDecodeMs : c.PredictedPrefillMs, Measured(c), budgets[i] * fullMs));
            log?.Invoke(FormattableString.Invariant($"[elastic] budget {budgets[i]:P0}: {routed[i]}, PPL {ppl.Perplexity:F3}, {Measured(c):F3} ms against {budgets[i] * fullMs:F3}"));
        }
        return rows;
    }

    /// <summary>Writes the sub-network at <paramref name="widths"/> as a Hugging Face folder and a llama2.c file (zero-padded), with the tokenizer.</summary>
    public static (string HfDir, string Llama2cPath) Export(ElasticLlama model, string tokenizerPath, ElasticWidths widths, string outDir)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        using var sub = model.Extract(widths);
        var hf = Path.Combine(outDir, "hf");
        HfLlamaCheckpoint.Write(sub, hf);
        File.Copy(tokenizerPath, Path.Combine(hf, LanguageModelFiles.TokenizerFileName), overwrite: true);
        var bin = Path.Combine(outDir, "model.bin");
        Llama2cCheckpoint.Write(sub, bin);
        File.Copy(tokenizerPath, Path.Combine(outDir, LanguageModelFiles.TokenizerFileName), overwrite: true);
        return (hf, bin);
    }
}
