namespace Condense.Core.Training;

/// <summary>
/// Learning rate as a pure function of the step, so a resumed run needs nothing but the step count.
/// Linear warmup from ~0 to the base rate over <c>warmupSteps</c>, then a half-cosine down to <c>minLr</c> at
/// <c>totalSteps</c> (the timm/nanoGPT schedule).
/// </summary>
/// <param name="BaseLr">The peak rate, reached at the end of warmup.</param>
/// <param name="WarmupSteps">Steps of linear warmup.</param>
/// <param name="TotalSteps">The step at which the rate reaches <paramref name="MinLr"/> and stays.</param>
/// <param name="MinLr">The final rate.</param>
public sealed record CosineWarmupSchedule(double BaseLr, long WarmupSteps, long TotalSteps, double MinLr = 0)
{
    /// <summary>The rate used for the optimizer step that follows <paramref name="completedSteps"/> steps.</summary>
    public double At(long completedSteps)
    {
        if (completedSteps < WarmupSteps) return BaseLr * (completedSteps + 1) / WarmupSteps;
        if (completedSteps >= TotalSteps) return MinLr;
        var progress = (double)(completedSteps - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinLr + 0.5 * (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * progress));
    }
}
