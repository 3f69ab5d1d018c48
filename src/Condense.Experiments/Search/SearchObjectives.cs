using Condense.Core;
using Condense.Search.Rl;
using Condense.Search.Running;

namespace Condense.Experiments.Search;

/// <summary>The objectives a study can name, built from the spec it stores (so every worker builds the same one).</summary>
public static class SearchObjectives
{
    /// <summary>The objective kinds.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["a2c", "distill"];

    /// <summary>The objective of a stored spec: "a2c(env=...,phase_steps=...)" or "distill(phase_steps=...)".</summary>
    public static IPhasedObjective Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.StartsWith("a2c(", StringComparison.Ordinal)) return A2CObjective.Parse(spec);
        if (spec.StartsWith("distill(", StringComparison.Ordinal)) return DistillObjective.Parse(spec);
        throw new InputException($"objective '{spec}': unknown (known: {string.Join(", ", Kinds)})");
    }

    /// <summary>A new objective of <paramref name="kind"/>; <paramref name="phaseSteps"/> 0 takes its default.</summary>
    public static (IPhasedObjective Objective, string DefaultSpace) Create(string kind, string environment, long phaseSteps) => kind switch
    {
        "a2c" => (new A2CObjective(environment, phaseSteps > 0 ? phaseSteps : 20_000), A2CObjective.DefaultSpace),
        "distill" => (new DistillObjective(phaseSteps > 0 ? phaseSteps : 30), DistillObjective.DefaultSpace),
        _ => throw new InputException($"objective '{kind}': unknown (known: {string.Join(", ", Kinds)})"),
    };
}
