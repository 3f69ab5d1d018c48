// The Flextron pipeline on files, as `condense elastic train | eval | export` runs it: load a LLaMA, rank its units on
// calibration text, sort them (NestedOrder), keep that sorted-but-untrained model (the "pruned, no retraining"
// baseline), run elastic continued training (resumable), and write the elastic model as a Hugging Face folder with
// elastic.json (its candidate widths and what trained it) and the tokenizer beside it. Evaluation extracts each
// width as a dense model and measures perplexity the repository's way; export writes one width as an ordinary model.
using System.Text.Json;
using Condense.Core;
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

/// <summary>What <see cref="ElasticJob.Train"/> produced.</summary>
public sealed record ElasticTrainReport(string ElasticDir, string SortedDir, ElasticTrainingResult Training, int LayersReordered);

/// <summary>Train, evaluate and export elastic models on files.</summary>
public static class ElasticJob
{
    /// <summary>The file beside an elastic model's weights that makes it one.</summary>
    public const string MetadataFile = "elastic.json";

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
            var result = ElasticTraining.Train(elastic, text, options.Training with { RunDir = runDir }, cancellation);
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

    /// <summary>Perplexity of each uniform width (fractions of MLP neurons and head groups, applied to both) on <paramref name="evalText"/>.</summary>
    public static IReadOnlyList<ElasticEvalRow> Evaluate(ElasticLlama model, Tokenizers.Llama2cTokenizer tokenizer, string evalText,
        IReadOnlyList<double> fractions, int evalDocs = 0, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(fractions);
        foreach (var f in fractions)
            if (!(f > 0 && f <= 1)) throw InputException.ForOption("Fractions", $"{f}: each width must be in (0, 1]");
        var docs = TokenCorpus.Documents(evalText, null);
        if (evalDocs > 0) docs = docs.Take(evalDocs).ToList();
        var (sequences, truncated) = Perplexity.Tokenize(tokenizer, docs, model.Config.MaxSeqLen);
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
