using System.Globalization;

namespace Condense.Core.Training;

/// <summary>How progress is shown: a live bar on a terminal, plain lines otherwise, or nothing (tests).</summary>
public enum ProgressMode
{
    /// <summary>A live bar when standard error is a terminal, plain lines otherwise.</summary>
    Auto,

    /// <summary>A live progress bar (Spectre.Console).</summary>
    Bar,

    /// <summary>One plain line every <see cref="TrainerOptions.LogEvery"/> steps (logs, CI).</summary>
    Lines,

    /// <summary>No progress output (tests, library callers).</summary>
    None,
}

/// <summary>
/// Everything the training loop needs to know, with sensible defaults (AdamW, cosine schedule with warmup,
/// clipping at 1.0, a checkpoint every 500 steps, TensorBoard and a metrics JSONL in the run folder).
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Run folder: checkpoints/, metrics.jsonl, tensorboard/, plots/ and the final model go here.</summary>
    public required string RunDir { get; init; }

    /// <summary>Optimizer steps to train in total (a resumed run continues up to this count).</summary>
    public long MaxSteps { get; init; } = 1000;

    /// <summary>
    /// Stop after this step (checkpoint saved) though the schedule runs to <see cref="MaxSteps"/>; a later run with a
    /// larger value resumes where this one stopped, as if never interrupted (search phases). Null: train to MaxSteps.
    /// </summary>
    public long? StopAtStep { get; init; }

    /// <summary>Seeds torch's generator before the model's first step; a resumed run restores the saved generator instead.</summary>
    public long Seed { get; init; } = 0;

    /// <summary>"adamw" or "lamb".</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>Peak learning rate, reached after <see cref="WarmupSteps"/>.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>Steps of linear warm-up from 0 to <see cref="LearningRate"/>.</summary>
    public long WarmupSteps { get; init; } = 0;

    /// <summary>Decoupled weight decay, applied to weights of two or more dimensions (not to biases or norm scales).</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Adam's first-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam's denominator epsilon.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Max global gradient L2 norm; 0 disables clipping.</summary>
    public double GradClip { get; init; } = 1.0;

    /// <summary>Steps between checkpoints; 0 writes only the final one.</summary>
    public long CheckpointEvery { get; init; } = 500;

    /// <summary>How many step checkpoints to keep (oldest are deleted).</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>Steps between progress lines and TensorBoard points (metrics.jsonl gets every step).</summary>
    public long LogEvery { get; init; } = 10;

    /// <summary>Continue from the newest checkpoint in the run folder when there is one.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Write TensorBoard event files under <c>tensorboard/</c> in the run folder.</summary>
    public bool TensorBoard { get; init; } = true;

    /// <summary>Write loss and learning-rate plots (PNG) under <c>plots/</c> at the end of the run.</summary>
    public bool Plots { get; init; } = true;

    /// <summary>How progress is shown on standard error.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;

    /// <summary>Extra <c>__metadata__</c> for the final model.safetensors (e.g. the model's config or recipe).</summary>
    public IReadOnlyDictionary<string, string>? ModelMetadata { get; init; }

    /// <summary>Label for progress output.</summary>
    public string Description { get; init; } = "train";

    /// <summary>
    /// The settings that determine the run's result beyond the Trainer's own (which are always recorded), as
    /// field → value; stored in every checkpoint. Resuming with different values is refused, naming the fields,
    /// unless <see cref="AllowConfigChange"/>; the step count may change (a run can be extended).
    /// </summary>
    public IReadOnlyDictionary<string, string>? Configuration { get; init; }

    /// <summary>Resume even when the recorded configuration differs from this run's (the differences are printed).</summary>
    public bool AllowConfigChange { get; init; }

    /// <summary>Where one-line notices go (a corrupt checkpoint skipped, a changed configuration allowed); default stderr.</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Throws an <see cref="InputException"/> naming the first bad field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string field, object value, string rule)
        {
            if (!ok) throw new InputException($"training option '{field}' = {Convert.ToString(value, CultureInfo.InvariantCulture)}: {rule}");
        }
        Require(!string.IsNullOrWhiteSpace(RunDir), nameof(RunDir), RunDir, "must be a folder path");
        Require(MaxSteps > 0, nameof(MaxSteps), MaxSteps, "must be positive");
        Require(Optimizer is "adamw" or "lamb", nameof(Optimizer), Optimizer, "must be 'adamw' or 'lamb'");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a positive number");
        Require(MinLearningRate >= 0 && MinLearningRate <= LearningRate, nameof(MinLearningRate), MinLearningRate, "must be in [0, LearningRate]");
        Require(WarmupSteps >= 0 && WarmupSteps <= MaxSteps, nameof(WarmupSteps), WarmupSteps, "must be in [0, MaxSteps]");
        Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be non-negative");
        Require(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Require(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Require(Eps > 0, nameof(Eps), Eps, "must be positive");
        Require(GradClip >= 0, nameof(GradClip), GradClip, "must be non-negative (0 disables)");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), CheckpointEvery, "must be non-negative");
        Require(KeepCheckpoints >= 1, nameof(KeepCheckpoints), KeepCheckpoints, "must be at least 1");
        Require(LogEvery >= 1, nameof(LogEvery), LogEvery, "must be at least 1");
    }
}
