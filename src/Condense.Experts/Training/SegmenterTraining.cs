// Training and scoring of the learned segmentation expert: the small U-Net learns lobes from augmented training
// slices (the atlas labels grouped by Lobes), and is scored by Dice per lobe on the held-out slices, un-augmented.
using System.Text.Json;
using Condense.Core.Checkpoints;
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Core.Training;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Volumes;
using static TorchSharp.torch;

namespace Condense.Experts.Training;

/// <summary>Dice per lobe on held-out slices.</summary>
/// <param name="PerLobe">Lobe name → Dice (pixels pooled over all held-out slices).</param>
/// <param name="MeanDice">Mean over the lobes.</param>
/// <param name="PixelAccuracy">Share of brain pixels with the right lobe.</param>
/// <param name="Slices">Held-out slices scored.</param>
public sealed record SegmenterScore(IReadOnlyDictionary<string, double> PerLobe, double MeanDice, double PixelAccuracy, int Slices);

/// <summary>The segmentation expert's training.</summary>
public static class SegmenterTraining
{
    /// <summary>Folder of the segmenter's run inside a VLM run.</summary>
    public const string Folder = "0-segmenter";

    /// <summary>The segmenter's input side.</summary>
    public const int Pixels = 64;

    /// <summary>Trains the segmenter in <paramref name="runDir"/> (resumable), scores it and returns the expert.</summary>
    public static (SegmentExpert Expert, SegmenterScore Score, VlmStageResult Stage) Train(BrainAtlas atlas, BrainSplit split, string runDir, long steps,
        int batchSize, long seed, double learningRate, AugmentOptions augment, ProgressMode progress, long checkpointEvery, CancellationToken cancellation)
    {
        var lobes = Lobes.LabelTable(atlas);
        var questions = new BrainQuestions(atlas, split, evaluation: false, augment);
        var model = new LobeSegmenter(Lobes.Names.Count);
        var trainer = new Trainer(model, new TrainerOptions
        {
            RunDir = Path.Combine(runDir, Folder),
            MaxSteps = steps,
            Seed = seed,
            LearningRate = learningRate,
            MinLearningRate = learningRate / 10,
            WarmupSteps = Math.Max(1, steps / 20),
            WeightDecay = 0.01,
            CheckpointEvery = checkpointEvery,
            LogEvery = Math.Max(1, Math.Min(50, steps / 10)),
            TensorBoard = false,
            Progress = progress,
            Description = $"vlm {Folder}",
            Configuration = new Dictionary<string, string> { ["stage"] = Folder, ["batch_size"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
        var result = trainer.Fit(from => Stream(from, step =>
        {
            var mix = new SplitMix64((ulong)seed * 0x9E3779B97F4A7C15UL ^ 0xA5A5UL << 48 ^ (ulong)step);
            var rng = new SplitMix64(mix.Next());
            var images = new float[batchSize * Pixels * Pixels];
            var targets = new long[batchSize * Pixels * Pixels];
            for (int b = 0; b < batchSize; b++)
            {
                var (view, intensity) = questions.DrawView(ref rng);
                Array.Copy(SliceRenderer.Render(atlas, view, Pixels, intensity), 0, images, b * Pixels * Pixels, Pixels * Pixels);
                Array.Copy(Targets(atlas, view, lobes), 0, targets, b * Pixels * Pixels, Pixels * Pixels);
            }
            return (tensor(images, [batchSize, 1, Pixels, Pixels]), tensor(targets, [batchSize, Pixels, Pixels]));
        }), batch => nn.functional.cross_entropy(model.call(batch.Item1), batch.Item2), cancellation: cancellation);
        var expert = new SegmentExpert(model, Pixels);
        var score = Score(atlas, split, expert, lobes);
        AtomicFile.WriteAllText(Path.Combine(runDir, Folder, "dice.json"), JsonSerializer.Serialize(score, new JsonSerializerOptions { WriteIndented = true }));
        var stage = new VlmStageResult(Folder, result.Steps, result.FinalLoss, result.ResumedFromStep >= result.Steps ? 0 : result.ElapsedSeconds);
        return (expert, score, stage);
    }

    /// <summary>Loads a trained segmenter from a VLM run folder, or null when the run has none.</summary>
    public static SegmentExpert? Load(string runDir)
    {
        string path = Path.Combine(runDir, Folder, "model.safetensors");
        if (!File.Exists(path)) return null;
        var model = new LobeSegmenter(Lobes.Names.Count);
        model.LoadSafetensors(path);
        return new SegmentExpert(model, Pixels);
    }

    /// <summary>Dice per lobe over every held-out slice of the split's planes, un-augmented.</summary>
    public static SegmenterScore Score(BrainAtlas atlas, BrainSplit split, SegmentExpert expert, int[] lobes)
    {
        int classes = Lobes.Names.Count;
        var inter = new long[classes];
        var predicted = new long[classes];
        var truth = new long[classes];
        long right = 0, brain = 0;
        int slices = 0;
        foreach (var plane in split.Planes)
            foreach (int index in split.Slices(plane, evaluation: true))
            {
                var view = new SliceView(plane, index);
                var p = expert.Segment(atlas, view);
                var t = Targets(atlas, view, lobes);
                for (int q = 0; q < p.Length; q++)
                {
                    predicted[p[q]]++;
                    truth[t[q]]++;
                    if (p[q] == t[q]) inter[p[q]]++;
                    if (t[q] > 0) { brain++; if (p[q] == t[q]) right++; }
                }
                slices++;
            }
        var perLobe = new Dictionary<string, double>();
        for (int c = 1; c < classes; c++)
            perLobe[Lobes.Names[c]] = predicted[c] + truth[c] == 0 ? double.NaN : 2.0 * inter[c] / (predicted[c] + truth[c]);
        return new SegmenterScore(perLobe, perLobe.Values.Where(double.IsFinite).Average(), brain == 0 ? 0 : right / (double)brain, slices);
    }

    /// <summary>The lobe class at each pixel centre of <paramref name="view"/> (nearest voxel).</summary>
    public static long[] Targets(BrainAtlas atlas, SliceView view, int[] lobes)
    {
        var targets = new long[Pixels * Pixels];
        for (int v = 0; v < Pixels; v++)
            for (int u = 0; u < Pixels; u++)
            {
                var (a, b) = view.FromPixel(u, v, Pixels, atlas.Size);
                var (i, j, k) = view.Voxel(Math.Round(a), Math.Round(b));
                int label = atlas.LabelAt((int)i, (int)j, (int)k);
                targets[v * Pixels + u] = label < lobes.Length ? lobes[label] : 0;
            }
        return targets;
    }

    private static IEnumerable<T> Stream<T>(long from, Func<long, T> at)
    {
        for (long s = from; ; s++) yield return at(s);
    }
}
