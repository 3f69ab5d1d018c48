// A distilled model read for inference or export: the student and its adaptor heads from a run folder or a
// model.safetensors, without building its teachers or loading its data (the head widths come from the checkpoint's
// tensor shapes). Feature heads trained against normalized targets (PHI-S and the other normalizers) come back with
// the inverse folded into their last Linear, so they predict in teacher units.
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Core.Runtime;
using Condense.Vision.Radio;

namespace Condense.Vision.Distillation;

/// <summary>A distilled model ready for inference: heads in teacher units.</summary>
/// <param name="Model">The student with its adaptors (eval mode); the caller disposes it.</param>
/// <param name="Recipe">The recipe it was trained with (as saved in the checkpoint).</param>
/// <param name="Path">The safetensors file read.</param>
/// <param name="FoldedFrom">The feature normalizer folded into the heads ("none" when the heads were trained on raw targets).</param>
public sealed record DistilledModel(RadioDistillModel Model, DistillRecipe Recipe, string Path, string FoldedFrom) : IDisposable
{
    /// <summary>The teachers' head widths, in recipe order.</summary>
    public IReadOnlyList<TeacherHeadSpec> Heads => Model.Teachers;

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}

/// <summary>Reads distilled models without their teachers.</summary>
public static class DistilledModelFile
{
    /// <summary>
    /// Reads <paramref name="checkpoint"/>: a run folder (its model_folded.safetensors when there is one, else
    /// model.safetensors) or a safetensors file written by <c>condense distill</c>.
    /// </summary>
    public static DistilledModel Load(string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        TorchRuntime.EnsureLoaded();
        string path = checkpoint;
        if (Directory.Exists(checkpoint))
        {
            path = System.IO.Path.Combine(checkpoint, "model_folded.safetensors");
            if (!File.Exists(path)) path = System.IO.Path.Combine(checkpoint, "model.safetensors");
            if (!File.Exists(path)) throw new InputException($"{checkpoint}: no model.safetensors in the run folder (not a finished `condense distill` run)");
        }
        else if (!File.Exists(checkpoint)) throw new InputException($"{checkpoint}: no such file or folder");
        var (header, recipe) = ReadCheckpoint(path);
        var shapes = header.Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        int? Width(string name) => shapes.TryGetValue(name, out var s) ? (int)s[0] : null;
        var heads = recipe.Teachers.Select(t =>
        {
            var head = new TeacherHeadSpec(t.Name, Width($"adaptors.{t.Name}.head_mlp.final.2.weight"), Width($"adaptors.{t.Name}.feat_mlp.final.2.weight"));
            return head.SummaryDim is null && head.FeatureDim is null
                ? throw new InputException($"{path}: no adaptor heads for teacher '{t.Name}' of its recipe")
                : head;
        }).ToList();
        var model = DistillSession.CreateModel(recipe, heads);
        try
        {
            model.LoadSafetensors(path);
            string normalizer = recipe.Loss.FeatureNormalizer;
            if (normalizer != "none")
            {
                var plain = recipe with { Loss = recipe.Loss with { FeatureNormalizer = "none" } };
                var folded = Distiller.Fold(model, plain, heads);
                model.Dispose();
                model = folded;
                recipe = plain;
            }
            else if (header.Metadata.TryGetValue("folded_from", out var from)) normalizer = from;
            model.eval();
            return new DistilledModel(model, recipe, path, normalizer);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A `condense distill` checkpoint's header and the recipe saved in its metadata; another file is an input error.</summary>
    internal static (SafetensorsHeader Header, DistillRecipe Recipe) ReadCheckpoint(string path)
    {
        var header = Safetensors.ReadHeader(path);
        if (!header.Metadata.TryGetValue("recipe", out var yaml))
            throw new InputException($"{path}: no distillation recipe in the checkpoint metadata (not a `condense distill` model)");
        return (header, RecipeLoader.Parse(yaml, $"{path} (recipe metadata)"));
    }
}
