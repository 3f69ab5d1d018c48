// VILA-M3's training stages at CPU scale, each a resumable Trainer run in its own folder of the run:
//   0-segmenter the learned segmentation expert (a small U-Net for lobes), scored by Dice on held-out slices
//   1-vision   vision pre-training (per-cell atlas labels; the tower and a label head)
//   2-align    alignment on slice captions, grounded where the slice carries a mark (tower frozen; projector and
//              decoder trained)
//   3-instruct instruction fine-tuning (questions answered directly, no model cards)
//   4-expert   expert-guided instruction fine-tuning (cards + trigger → real expert result → answer, mixed with
//              direct answers without cards so one model runs with or without experts)
// A re-run resumes the stage it stopped in; finished stages reload from their last checkpoint.
//
// Deviations (from VILA-M3, arXiv 2411.12915, and its m3 training scripts):
// - The decoder is a small LLaMA trained from scratch on the generated text (the paper starts from a pre-trained
//   LLM), so the alignment stage trains the decoder with the projector instead of the projector alone.
// - Vision pre-training is supervised on the atlas labels of the training slices (the paper uses a pre-trained
//   SigLIP tower); a registry backbone of any kind can replace the default small ViT.
// - Stage 4 mixes in conversations without model cards (the paper's stage 4 is expert data mixed with stage 3's
//   data); without cards the model answers directly, which gives the VLM-without-experts condition on the same weights.
using System.Globalization;
using System.Text.Json;
using Condense.Core.Checkpoints;
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Core.Training;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Model;
using Condense.Experts.Text;
using Condense.Experts.Volumes;
using static TorchSharp.torch;

namespace Condense.Experts.Training;

/// <summary>One stage's outcome.</summary>
/// <param name="Name">1-vision, 2-align, 3-instruct or 4-expert.</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="FinalLoss">Loss of its last step.</param>
/// <param name="Seconds">Wall time of this run of the stage (0 when it was already done).</param>
public sealed record VlmStageResult(string Name, long Steps, double FinalLoss, double Seconds);

/// <summary>A trained VLM's files and stages.</summary>
/// <param name="RunDir">The run folder.</param>
/// <param name="ModelPath">vlm.safetensors.</param>
/// <param name="Stages">Each stage.</param>
/// <param name="Seconds">Wall time of this call.</param>
public sealed record VlmTrainResult(string RunDir, string ModelPath, IReadOnlyList<VlmStageResult> Stages, double Seconds);

/// <summary>Trains the VLM (or its text-only floor) stage by stage.</summary>
public static class VlmTraining
{
    /// <summary>Runs every stage of <paramref name="options"/> on <paramref name="atlas"/>.</summary>
    public static VlmTrainResult Train(BrainAtlas atlas, VlmTrainOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(options.RunDir);
        var split = new BrainSplit(atlas, options.Planes);
        var stages = new List<VlmStageResult>();
        var expertList = new List<IExpert> { new AtlasExpert() };
        if (!options.TextOnly)
        {
            var (segment, _, stage) = SegmenterTraining.Train(atlas, split, options.RunDir, options.SegmenterSteps, Math.Max(1, options.BatchSize / 2), options.Seed,
                options.LearningRate, options.Augment, options.Progress, options.CheckpointEvery, cancellation);
            expertList.Add(segment);
            stages.Add(stage);
        }
        var experts = new ExpertSet(expertList);
        var tokenizer = WordTokenizer.Train(VlmVocabulary.Corpus(atlas, experts));
        var config = options.Model with { VocabSize = tokenizer.Count };
        config.Validate();
        var questions = new BrainQuestions(atlas, split, evaluation: false, options.Augment);
        var format = new ConversationFormat(tokenizer, config.ImageTokens);
        var factory = new ConversationFactory(atlas, experts, format, config.ImagePixels);

        Determinism.Seed(options.Seed);
        using var vlm = new VisionLanguageModel(config);
        ulong seed = (ulong)options.Seed;

        if (!options.TextOnly && options.VisionSteps > 0)
        {
            // Not disposed: disposing a module disposes its children, and the vision tower lives on in the VLM.
            var pretrain = new VisionPretrainModel(vlm, atlas.Regions.Max(r => r.Label) + 1);
            stages.Add(RunStage("1-vision", pretrain, options, options.VisionSteps, cancellation, step =>
            {
                var rng = StepRng(seed, 1, step);
                var images = new List<float[]>();
                var labels = new List<long>();
                var marks = new List<long>();
                for (int b = 0; b < options.BatchSize; b++)
                {
                    var (view, intensity) = questions.DrawView(ref rng);
                    // Most images carry a mark (point or area) like the questions' images; a quarter carry none.
                    var marker = rng.NextInt(4) == 0 ? null : questions.RandomMarker(view, rng.NextInt(2) == 0 ? MarkerKind.Point : MarkerKind.Area, ref rng);
                    images.Add(SliceRenderer.Render(atlas, view, config.ImagePixels, intensity, marker));
                    labels.AddRange(VisionPretrainModel.CellLabels(atlas, view, config, split.HeldOut));
                    marks.Add(marker is null ? -100 : VisionPretrainModel.MarkCell(atlas, view, config, marker) is var cell && cell >= 0 ? cell : -100);
                }
                return (VlmBatch.StackImages(images, config.ImagePixels), tensor(labels.ToArray()), tensor(marks.ToArray()));
            }, batch =>
            {
                var (logits, markLogits) = pretrain.Forward(batch.Item1);                // (N, g², classes), (N, g²)
                var labelLoss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), batch.Item2, ignore_index: -100);
                var markLoss = nn.functional.cross_entropy(markLogits, batch.Item3, ignore_index: -100);
                return new LossOutput(labelLoss + markLoss, new Dictionary<string, Tensor> { ["label_loss"] = labelLoss, ["mark_loss"] = markLoss });
            }));
        }

        SetTrainable(vlm, vision: false, projector: !options.TextOnly, llm: true);
        if (!options.TextOnly && options.AlignSteps > 0)
            stages.Add(RunStage("2-align", vlm, options, options.AlignSteps, cancellation, step =>
            {
                var rng = StepRng(seed, 2, step);
                var conversations = new List<TokenizedConversation>();
                for (int b = 0; b < options.BatchSize; b++)
                {
                    var (view, intensity) = questions.DrawView(ref rng);
                    var marker = rng.NextInt(2) == 0 ? null : questions.RandomMarker(view, rng.NextInt(2) == 0 ? MarkerKind.Point : MarkerKind.Area, ref rng);
                    conversations.Add(factory.Caption(view, intensity, questions.Counts(view), split.HeldOut, marker));
                }
                return VlmBatch.Collate(conversations, config.ImagePixels);
            }, batch => (LossOutput)Loss(vlm, batch)));

        SetTrainable(vlm, vision: !options.TextOnly, projector: !options.TextOnly, llm: true);
        long instructSteps = options.TextOnly ? options.InstructSteps + options.ExpertSteps : options.InstructSteps;
        if (instructSteps > 0)
            stages.Add(RunStage("3-instruct", vlm, options, instructSteps, cancellation, step =>
            {
                var rng = StepRng(seed, 3, step);
                var conversations = new List<TokenizedConversation>();
                for (int b = 0; b < options.BatchSize; b++)
                {
                    var family = BrainQuestions.Families[rng.NextInt(BrainQuestions.Families.Count)];
                    conversations.Add(factory.Direct(questions.Sample(family, ref rng), withCards: false, withImage: !options.TextOnly));
                }
                return VlmBatch.Collate(conversations, config.ImagePixels);
            }, batch => (LossOutput)Loss(vlm, batch)));

        if (!options.TextOnly && options.ExpertSteps > 0)
            stages.Add(RunStage("4-expert", vlm, options, options.ExpertSteps, cancellation, step =>
            {
                var rng = StepRng(seed, 4, step);
                var conversations = new List<TokenizedConversation>();
                for (int b = 0; b < options.BatchSize; b++)
                {
                    var family = BrainQuestions.Families[rng.NextInt(BrainQuestions.Families.Count)];
                    bool cards = rng.NextDouble() < options.CardsFraction;
                    var sample = questions.Sample(family, ref rng);
                    conversations.Add(cards ? factory.ExpertGuided(sample) : factory.Direct(sample, withCards: false));
                }
                return VlmBatch.Collate(conversations, config.ImagePixels);
            }, batch => (LossOutput)Loss(vlm, batch)));

        string modelPath = Path.Combine(options.RunDir, VlmFiles.Weights);
        vlm.SaveSafetensors(modelPath, new Dictionary<string, string>
        {
            ["format"] = "condense.vlm.v1",
            ["text_only"] = options.TextOnly ? "true" : "false",
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
        });
        config.Save(Path.Combine(options.RunDir, VlmFiles.Config));
        tokenizer.Save(Path.Combine(options.RunDir, VlmFiles.Tokenizer));
        AtomicFile.WriteAllText(Path.Combine(options.RunDir, VlmFiles.Summary), JsonSerializer.Serialize(new
        {
            text_only = options.TextOnly,
            seed = options.Seed,
            stages = stages.Select(s => new { name = s.Name, steps = s.Steps, final_loss = s.FinalLoss, seconds = s.Seconds }),
        }, new JsonSerializerOptions { WriteIndented = true }));
        return new VlmTrainResult(options.RunDir, modelPath, stages, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Next-token cross-entropy over the trained positions of <paramref name="batch"/>.</summary>
    public static Tensor Loss(VisionLanguageModel vlm, VlmBatch batch)
    {
        var logits = vlm.Forward(batch.Tokens, batch.Images);                                // (B, T, V)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), batch.Targets.reshape(-1), ignore_index: -100);
    }

    private static VlmStageResult RunStage<TBatch>(string name, nn.Module model, VlmTrainOptions options, long steps,
        CancellationToken cancellation, Func<long, TBatch> batchAt, Func<TBatch, LossOutput> loss)
    {
        var trainer = new Trainer(model, new TrainerOptions
        {
            RunDir = Path.Combine(options.RunDir, name),
            MaxSteps = steps,
            Seed = options.Seed,
            LearningRate = options.LearningRate,
            MinLearningRate = options.LearningRate / 10,
            WarmupSteps = Math.Min(steps, Math.Max(1, steps / 20)),
            WeightDecay = 0.01,
            CheckpointEvery = options.CheckpointEvery,
            LogEvery = Math.Max(1, Math.Min(50, steps / 10)),
            TensorBoard = false,
            Progress = options.Progress,
            Description = $"vlm {name}",
            Configuration = new Dictionary<string, string>
            {
                ["stage"] = name,
                ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
                ["text_only"] = options.TextOnly.ToString(),
                ["cards_fraction"] = options.CardsFraction.ToString(CultureInfo.InvariantCulture),
                ["model"] = JsonSerializer.Serialize(options.Model),
            },
        });
        var result = trainer.Fit(from => Stream(from, batchAt), loss, cancellation: cancellation);
        return new VlmStageResult(name, result.Steps, result.FinalLoss, result.ResumedFromStep >= result.Steps ? 0 : result.ElapsedSeconds);
    }

    private static IEnumerable<TBatch> Stream<TBatch>(long from, Func<long, TBatch> batchAt)
    {
        for (long step = from; ; step++) yield return batchAt(step);
    }

    // The data of a step depends only on (seed, stage, step), so a resumed stage sees what an uninterrupted one would.
    private static SplitMix64 StepRng(ulong seed, int stage, long step)
    {
        var mix = new SplitMix64(seed * 0x9E3779B97F4A7C15UL ^ ((ulong)stage << 56) ^ (ulong)step);
        return new SplitMix64(mix.Next());
    }

    private static void SetTrainable(VisionLanguageModel vlm, bool vision, bool projector, bool llm)
    {
        foreach (var p in vlm.VisionTower.parameters()) p.requires_grad = vision;
        foreach (var p in vlm.Projector.parameters()) p.requires_grad = projector;
        foreach (var p in vlm.Llm.parameters()) p.requires_grad = llm;
    }
}
