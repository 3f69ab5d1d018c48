using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Core.Runtime;
using Condense.Core.Training;
using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>Where and how a distillation run happens (beside the recipe, which says what is trained).</summary>
/// <param name="RunDir">The run folder (locked for the run).</param>
/// <param name="Resume">Continue from the folder's newest checkpoint.</param>
/// <param name="Progress">How progress is shown.</param>
/// <param name="AllowConfigChange">Resume even when the folder's checkpoint was written with another recipe.</param>
/// <param name="StopAtStep">Train only to this step (the schedule still spans the recipe's steps), then evaluate; a
/// later run with a larger value resumes (phases of a hyperparameter search). Null: the recipe's steps.</param>
public sealed record DistillRunOptions(string RunDir, bool Resume = true, ProgressMode Progress = ProgressMode.Auto, bool AllowConfigChange = false,
    long? StopAtStep = null);

/// <summary>
/// AM-RADIO agglomerative distillation end to end (arXiv:2312.06709): build the frozen teachers a recipe names,
/// fill their output caches, train the student and its per-teacher adaptors with Condense's Trainer on
/// L = Σ λ_i (1 − cos) on summaries + Σ γ_i (0.9 cos + 0.1 SmoothL1) on grid-matched features, then evaluate
/// (kNN and linear probe on held-out images per teacher and combined, fidelity, PCA figure) and write the report.
///
/// Deviations from the paper's setting (scale, not method): Fashion-MNIST instead of DataComp-1B, a 128-wide
/// 6-block student at 32 px instead of ViT-H at 432 px, small CNN and handcrafted teachers instead of DFN CLIP,
/// DINOv2 and SAM, and hundreds of steps instead of 600k; all teachers train in one partition at one resolution.
/// The default recipe uses AdamW where the paper uses LAMB: at this scale LAMB learned much more slowly (300-step
/// runs of the default recipe, student kNN through the ResNet18 adaptor: LAMB lr 2e-3 59.2%, LAMB 6e-3 65.7%,
/// AdamW 1e-3 71.6%, AdamW 3e-3 75.3%); LAMB stays available (train.optimizer: lamb).
/// </summary>
public static class Distiller
{
    /// <summary>Runs a distillation: writes config.yaml, trains (resuming when asked), evaluates and writes the report to the run folder.</summary>
    public static DistillResult Run(DistillRecipe recipe, DistillRunOptions run, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(run);
        TorchRuntime.EnsureLoaded();
        using var runLock = RunFolderLock.Acquire(run.RunDir);
        AtomicFile.WriteAllText(Path.Combine(run.RunDir, "config.yaml"), RecipeLoader.ToYaml(recipe));
        var data = DistillData.Load(recipe.Data);
        using var session = DistillSession.Open(recipe, data, run.Progress);

        var model = session.CreateModel(recipe);
        var loss = session.CreateLoss(recipe, model);
        var trainer = new Trainer(model, new TrainerOptions
        {
            RunDir = run.RunDir,
            MaxSteps = recipe.Train.Steps,
            StopAtStep = run.StopAtStep,
            Seed = recipe.Train.Seed,
            Optimizer = recipe.Train.Optimizer,
            LearningRate = recipe.Train.LearningRate,
            MinLearningRate = Math.Min(recipe.Train.MinLearningRate, recipe.Train.LearningRate),
            WarmupSteps = Math.Min(recipe.Train.WarmupSteps, recipe.Train.Steps),
            WeightDecay = recipe.Train.WeightDecay,
            GradClip = recipe.Train.GradClip,
            CheckpointEvery = recipe.Train.CheckpointEvery,
            Resume = run.Resume,
            Progress = run.Progress,
            LogEvery = 25,
            Description = $"distill {recipe.Name}",
            ModelMetadata = new Dictionary<string, string> { ["recipe"] = RecipeLoader.ToYaml(recipe) },
            Configuration = RecipeLoader.TrainingFields(recipe),
            AllowConfigChange = run.AllowConfigChange,
        });
        var train = data.Train;
        var resolutions = recipe.Data.Partitions();
        var loader = new BatchLoader<DistillBatch>(train.Count, recipe.Train.BatchSize, dropLast: true, (ulong)recipe.Train.Seed,
            idx => DistillBatch.Create(train, idx, resolutions));
        var result = trainer.Fit(step => loader.FromStep(step, cancellation), batch =>
        {
            var targets = session.Slots.Select(s => s.Train.Get(batch.Indices)).ToList();
            if (model.FeatureNormalizers is { } normalizers)
                for (int i = 0; i < session.Slots.Count; i++)
                {
                    var name = session.Slots[i].Name;
                    if (!normalizers.Teachers.Contains(name)) continue;
                    long freezeAt = recipe.Loss.NormalizerFreezeStep;
                    if (freezeAt > 0 && trainer.CompletedSteps >= freezeAt) normalizers.Freeze(name);
                    else normalizers.Observe(name, targets[i].Features!);
                }
            // every partition at once; each contributes in proportion to its share of the batch
            Tensor total = torch.zeros(Array.Empty<long>());
            var parts = new Dictionary<string, Tensor>();
            foreach (var p in batch.Partitions)
            {
                long b = p.Images.shape[0];
                var output = model.call(p.Images);
                var predictions = new Dictionary<string, TeacherOutput>();
                var slice = new Dictionary<string, TeacherOutput>();
                for (int i = 0; i < session.Slots.Count; i++)
                {
                    var slot = session.Slots[i];
                    if (!slot.MatchedAt(p.Resolution)) continue;
                    predictions[slot.Name] = output.Teachers[slot.Name];
                    slice[slot.Name] = new TeacherOutput(targets[i].Summary?.narrow(0, p.Start, b), targets[i].Features?.narrow(0, p.Start, b));
                }
                if (predictions.Count == 0) continue;
                var l = loss.Compute(output with { Teachers = predictions }, slice);
                double share = (double)b / batch.Indices.Length;
                total = total + share * l.Total;
                foreach (var (name, value) in l.PerTeacher)
                    parts[$"loss_{name}"] = parts.TryGetValue($"loss_{name}", out var acc) ? acc + share * value : share * value;
            }
            return new LossOutput(total, parts);
        }, b => b.Indices.Length, cancellation);

        if (model.FeatureNormalizers is not null) ExportFolded(model, session, recipe, run.RunDir);
        return DistillEvaluator.Evaluate(model, session, data, recipe, run.RunDir, result);
    }

    /// <summary>
    /// With normalized feature targets the feature heads predict in normalized space. For inference the inverse is
    /// folded into each feature head's last Linear (W ← ΘW, b ← Θb + μ; PHI-S appendix A.6), so the exported
    /// model_folded.safetensors outputs teacher units at no extra cost; its recipe says feature_normalizer: none,
    /// so `condense eval` evaluates it like any raw-target model (and must give the same fidelities).
    /// </summary>
    private static void ExportFolded(RadioDistillModel model, DistillSession session, DistillRecipe recipe, string runDir)
    {
        var plainRecipe = recipe with { Loss = recipe.Loss with { FeatureNormalizer = "none" } };
        using var folded = Fold(model, plainRecipe, [.. session.Slots.Select(t => t.Head)]);
        Condense.Core.Checkpoints.ModuleCheckpoint.SaveSafetensors(folded, Path.Combine(runDir, "model_folded.safetensors"), new Dictionary<string, string>
        {
            ["format"] = "condense.model.v1",
            ["recipe"] = RecipeLoader.ToYaml(plainRecipe),
            ["folded_from"] = recipe.Loss.FeatureNormalizer,
        });
    }

    /// <summary>
    /// A copy of <paramref name="model"/> built from <paramref name="plainRecipe"/> (feature_normalizer none) whose
    /// feature heads output teacher units: each normalizer's inverse folded into its head's last Linear.
    /// </summary>
    public static RadioDistillModel Fold(RadioDistillModel model, DistillRecipe plainRecipe, IReadOnlyList<TeacherHeadSpec> heads)
    {
        ArgumentNullException.ThrowIfNull(model);
        var folded = DistillSession.CreateModel(plainRecipe, heads);
        using (torch.no_grad())
        {
            var source = model.state_dict();
            foreach (var (name, target) in folded.state_dict()) target.copy_(source[name]);
            foreach (var teacher in model.FeatureNormalizers?.Teachers ?? [])
            {
                var last = folded.Adaptor(teacher).FeatMlp!.named_modules().Single(m => m.name == "final.2").module as TorchSharp.Modules.Linear
                    ?? throw new InvalidOperationException("feature head has no final Linear");
                model.FeatureNormalizers!.Estimator(teacher).Normalizer.FoldInto(last);
            }
        }
        return folded;
    }

    /// <summary>A saved student (model.safetensors with its recipe in the metadata, or a run folder), its teachers and data; the caller disposes the session.</summary>
    public static (RadioDistillModel Model, DistillSession Session, DistillData Data, DistillRecipe Recipe, string Path) Load(string checkpoint, ProgressMode progress)
    {
        TorchRuntime.EnsureLoaded();
        var path = Directory.Exists(checkpoint) ? Path.Combine(checkpoint, "model.safetensors") : checkpoint;
        var (_, recipe) = DistilledModelFile.ReadCheckpoint(path);
        var data = DistillData.Load(recipe.Data);
        var session = DistillSession.Open(recipe, data, progress);
        try
        {
            var model = session.CreateModel(recipe);
            Condense.Core.Checkpoints.ModuleCheckpoint.LoadSafetensors(model, path);
            return (model, session, data, recipe, path);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Evaluates a saved student (model.safetensors with its recipe in the metadata, or a run folder).</summary>
    public static DistillResult Evaluate(string checkpoint, string? outputDir, ProgressMode progress)
    {
        var (model, session, data, recipe, path) = Load(checkpoint, progress);
        using (session)
        {
            var dir = outputDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "eval");
            return DistillEvaluator.Evaluate(model, session, data, recipe, dir, null);
        }
    }
}
