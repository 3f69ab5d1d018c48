namespace Condense.Core.Training;

/// <summary>What one optimizer step measured. <c>GradNorm</c> is the pre-clipping global L2 norm.</summary>
/// <param name="Step">The step's number, 1-based: the completed step count after it.</param>
/// <param name="Loss">The loss before the update.</param>
/// <param name="LearningRate">The learning rate the update used.</param>
/// <param name="GradNorm">The global L2 norm of all gradients, before clipping.</param>
/// <param name="StepSeconds">Wall-clock seconds of the step (forward, backward and update).</param>
/// <param name="ItemsPerSecond">Items (e.g. examples or tokens) per second; 0 when the caller counts none.</param>
public sealed record StepMetrics(long Step, double Loss, double LearningRate, double GradNorm, double StepSeconds, double ItemsPerSecond)
{
    /// <summary>
    /// CPU seconds the process used during the step, all threads together (NaN when not measured). Unlike
    /// <see cref="StepSeconds"/> it hardly changes when other programs share the machine, so compute budgets use it.
    /// </summary>
    public double CpuSeconds { get; init; } = double.NaN;

    /// <summary>Extra scalars a caller reports with the step (e.g. per-teacher losses); logged as is.</summary>
    public IReadOnlyDictionary<string, double>? Extra { get; init; }
}

/// <summary>The outcome of <c>Trainer.Fit</c>.</summary>
/// <param name="RunDir">The run folder.</param>
/// <param name="Steps">Optimizer steps completed in all, including those before a resume.</param>
/// <param name="ResumedFromStep">Steps already completed when this call began (0 for a fresh run).</param>
/// <param name="FinalLoss">The loss of the last step.</param>
/// <param name="Losses">Every step's loss from metrics.jsonl, in step order, across resumes.</param>
/// <param name="ModelPath">The final model weights (model.safetensors in the run folder).</param>
/// <param name="LastCheckpoint">The training checkpoint of the final step.</param>
/// <param name="ElapsedSeconds">Wall-clock seconds of this call.</param>
public sealed record TrainResult(
    string RunDir,
    long Steps,
    long ResumedFromStep,
    double FinalLoss,
    IReadOnlyList<double> Losses,
    string ModelPath,
    string LastCheckpoint,
    double ElapsedSeconds);
