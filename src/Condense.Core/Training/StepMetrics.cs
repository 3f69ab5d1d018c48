namespace Condense.Core.Training;

/// <summary>What one optimizer step measured. <c>GradNorm</c> is the pre-clipping global L2 norm.</summary>
public sealed record StepMetrics(long Step, double Loss, double LearningRate, double GradNorm, double StepSeconds, double ItemsPerSecond)
{
    /// <summary>Extra scalars a caller reports with the step (e.g. per-teacher losses); logged as is.</summary>
    public IReadOnlyDictionary<string, double>? Extra { get; init; }
}

/// <summary>The outcome of <c>Trainer.Fit</c>.</summary>
public sealed record TrainResult(
    string RunDir,
    long Steps,
    long ResumedFromStep,
    double FinalLoss,
    IReadOnlyList<double> Losses,
    string ModelPath,
    string LastCheckpoint,
    double ElapsedSeconds);
