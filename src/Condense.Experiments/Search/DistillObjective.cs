// Condense's own job as a search objective: AM-RADIO distillation of the default recipe (made small), trained in equal
// phases of optimizer steps. The learning-rate schedule spans all phases (the Trainer stops at the phase's last step
// and resumes from its checkpoint in the trial's folder), so a trial that runs every phase trains exactly as one
// uninterrupted run. A phase's score is the backbone summary's kNN accuracy on the held-out images; its cost is the
// steps it trained. Searched: train.learning_rate ("lr"), train.warmup_steps ("warmup"), train.weight_decay ("wd"),
// any that the space names; the rest is the recipe.
using System.Globalization;
using Condense.Core;
using Condense.Core.Training;
using Condense.Search.Running;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Search;

/// <summary>Distillation of the default recipe, <paramref name="stepsPerPhase"/> optimizer steps per phase.</summary>
/// <param name="stepsPerPhase">Optimizer steps per phase.</param>
/// <param name="overrides">Recipe overrides applied before the searched values (e.g. a smaller data set).</param>
/// <param name="teachers">The recipe's teachers to keep (null: all).</param>
public sealed class DistillObjective(long stepsPerPhase, IReadOnlyList<string>? overrides = null, IReadOnlyList<string>? teachers = null) : IPhasedObjective
{
    /// <summary>The space searched by default.</summary>
    public const string DefaultSpace = "lr=log(3e-4,1e-2);warmup=int(0,50);wd=log(1e-3,0.2)";

    /// <summary>The recipe made small enough to search on two cores (the default recipe's data and teachers).</summary>
    public static readonly IReadOnlyList<string> SmallRecipe =
    [
        "data.train_images=2000", "data.test_images=500", "train.checkpoint_every=0", "eval.probe_steps=50", "eval.pca_images=2",
    ];

    private readonly IReadOnlyList<string> _overrides = overrides ?? SmallRecipe;

    /// <inheritdoc/>
    public string Name => $"distill(phase_steps={stepsPerPhase})";

    /// <summary>Reads "distill(phase_steps=N)"; anything else is an input error naming the spec.</summary>
    public static DistillObjective Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var m = System.Text.RegularExpressions.Regex.Match(spec.Trim(), @"^distill\(phase_steps=(\d{1,9})\)$");
        if (!m.Success) throw new InputException($"objective '{spec}': expected distill(phase_steps=N)");
        var steps = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return steps >= 1 ? new DistillObjective(steps) : throw new InputException($"objective '{spec}': phase_steps must be at least 1");
    }

    /// <summary>The recipe of <paramref name="trial"/>: the overrides, the trial's values, all phases' steps, its seed.</summary>
    public DistillRecipe RecipeFor(TrialContext trial)
    {
        ArgumentNullException.ThrowIfNull(trial);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["lr"] = "train.learning_rate", ["warmup"] = "train.warmup_steps", ["wd"] = "train.weight_decay" };
        var set = new List<string>(_overrides)
        {
            string.Create(CultureInfo.InvariantCulture, $"train.steps={trial.Phases * stepsPerPhase}"),
            string.Create(CultureInfo.InvariantCulture, $"train.seed={(long)(trial.Seed % 1_000_000)}"),
        };
        foreach (var (name, value) in trial.Config.Values)
        {
            if (!keys.TryGetValue(name, out var key)) throw new InputException($"objective distill: parameter '{name}' is not searchable (lr, warmup, wd)");
            set.Add(key == "train.warmup_steps"
                ? string.Create(CultureInfo.InvariantCulture, $"{key}={value.AsLong}")
                : string.Create(CultureInfo.InvariantCulture, $"{key}={value.AsDouble:R}"));
        }
        var recipe = RecipeLoader.LoadDefault(set);
        return teachers is null ? recipe : recipe.WithTeachers(teachers);
    }

    /// <inheritdoc/>
    public PhaseResult RunPhase(TrialContext trial, int phase, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(trial);
        var r = Distiller.Run(RecipeFor(trial), new DistillRunOptions(trial.CheckpointDir, Progress: ProgressMode.None, StopAtStep: phase * stepsPerPhase),
            cancellation);
        return new PhaseResult(r.BackboneSummary.Knn, stepsPerPhase);
    }

    /// <inheritdoc/>
    public void Release(long trial) { }
}
