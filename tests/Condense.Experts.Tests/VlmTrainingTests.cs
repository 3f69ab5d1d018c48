using Condense.Core;
using Condense.Core.Training;
using Condense.Experts.Data;
using Condense.Experts.Inference;
using Condense.Experts.Model;
using Condense.Experts.Training;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Experts.Tests;

public class VlmTrainingTests
{
    private static VlmTrainOptions Tiny(string runDir, long steps = 6) => TinyVlm.Options(runDir, steps);

    [Fact]
    public void Image_tokens_replace_the_image_slots_in_order()
    {
        using var vlm = new VisionLanguageModel(new VlmConfig(ImagePixels: 32, VisionDim: 32, VisionDepth: 1, VisionHeads: 2, Dim: 32, Layers: 1, Heads: 2, HiddenDim: 64, VocabSize: 20));
        Assert.Equal(4, vlm.Config.ImageTokens);
        var images = rand(2, 3, 32, 32);
        var tokens = tensor(new long[] { 1, 4, 4, 4, 4, 7, 4, 4, 4, 4, 8 }).unsqueeze(0);
        var embedded = vlm.Embed(tokens, images);                                 // (1, 11, 32)
        var imageTokens = vlm.EncodeImages(images);                                // (2, 4, 32)
        Assert.True(embedded[0, TensorIndex.Slice(1, 5)].allclose(imageTokens[0]));
        Assert.True(embedded[0, TensorIndex.Slice(6, 10)].allclose(imageTokens[1]));
        Assert.True(embedded[0, 5].allclose(vlm.Llm.Model.EmbedTokens.call(tensor(7L))));
        Assert.Throws<ArgumentException>(() => vlm.Embed(tokens, images[TensorIndex.Slice(0, 1)]));
        Assert.Equal([1, 11, 20], vlm.Forward(tokens, images).shape);
    }

    [Fact]
    public void The_four_stages_run_resume_and_reload_to_the_same_answers()
    {
        using var temp = new TempFolder();
        var atlas = ColinAtlas.Value;
        var first = VlmTraining.Train(atlas, Tiny(temp.Path));
        Assert.Equal(["0-segmenter", "1-vision", "2-align", "3-instruct", "4-expert"], first.Stages.Select(s => s.Name));
        Assert.All(first.Stages, s => Assert.True(double.IsFinite(s.FinalLoss)));
        var weights = File.ReadAllBytes(first.ModelPath);

        // A second call finds every stage done: nothing trains, the weights are the same.
        var again = VlmTraining.Train(atlas, Tiny(temp.Path));
        Assert.All(again.Stages, s => Assert.Equal(0, s.Seconds));
        Assert.Equal(weights, File.ReadAllBytes(again.ModelPath));

        // Extending the last stage resumes it from its checkpoint.
        var longer = VlmTraining.Train(atlas, Tiny(temp.Path) with { ExpertSteps = 9 });
        Assert.Equal(9, longer.Stages[^1].Steps);

        using var vlm = VlmFiles.Load(temp.Path);
        Assert.False(vlm.TextOnly);
        var split = new BrainSplit(atlas, [SlicePlane.Axial, SlicePlane.Coronal]);
        var questions = VlmEvaluation.Questions(atlas, split, 1, 7, new AugmentOptions());
        var a = VlmEvaluation.Run(vlm, null, atlas, vlm.Experts, questions);
        var b = VlmEvaluation.Run(vlm, null, atlas, vlm.Experts, questions);
        Assert.Equal(a, b);
        Assert.Equal(BrainQuestions.Families.Count, a.Count);
        var summary = VlmScores.Summarize(a);
        Assert.Equal("overall", summary.Rows[^1].Family);
        Assert.All(summary.Rows.Where(r => r.ExpertAlone is not null && r.Family is not ("lobe_at_point" or "expert families" or "held-out regions")),
            r => Assert.Equal(1.0, r.ExpertAlone));
        Assert.Equal(["ATLAS", "SEGMENT"], vlm.Experts.Experts.Select(e => e.Name));
    }

    [Fact]
    public void The_text_only_floor_trains_without_images_and_a_missing_run_is_named()
    {
        using var temp = new TempFolder();
        var result = VlmTraining.Train(ColinAtlas.Value, Tiny(temp.Path, 3) with { TextOnly = true });
        Assert.Equal(["3-instruct"], result.Stages.Select(s => s.Name));
        Assert.Equal(6, result.Stages[0].Steps);
        using var floor = VlmFiles.Load(temp.Path);
        Assert.True(floor.TextOnly);
        Assert.Contains("vlm.safetensors", Assert.Throws<InputException>(() => VlmFiles.Load(temp.File("none-here") is var p && Directory.CreateDirectory(p) is not null ? p : p)).Message);
    }

    [Fact]
    public void Expert_guided_training_lowers_the_loss()
    {
        using var temp = new TempFolder();
        var result = VlmTraining.Train(ColinAtlas.Value, Tiny(temp.Path, 1) with { ExpertSteps = 60, BatchSize = 8 });
        var losses = MetricsLog.Read(Path.Combine(temp.Path, "4-expert", "metrics.jsonl")).Select(r => r["loss"]).ToList();
        Assert.Equal(60, losses.Count);
        Assert.True(losses.TakeLast(10).Average() < 0.7 * losses.Take(5).Average(), $"{losses.Take(5).Average()} -> {losses.TakeLast(10).Average()}");
    }
}
