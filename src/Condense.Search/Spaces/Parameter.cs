// The four parameter kinds of Optuna's and Ray Tune's search spaces. Each maps a uniform draw u in [0, 1) to a value,
// so a trial's configuration is a pure function of (study seed, trial number, parameter name): a restarted study
// re-derives the same configurations without storing the sampler's state.
using System.Globalization;
using Condense.Core;

namespace Condense.Search.Spaces;

/// <summary>One searched hyperparameter.</summary>
public abstract record Parameter(string Name)
{
    /// <summary>The value for the uniform draw <paramref name="u"/> in [0, 1).</summary>
    public abstract ParamValue At(double u);

    /// <summary>Throws an <see cref="InputException"/> naming the parameter when the range is empty or invalid.</summary>
    public abstract void Validate();

    /// <summary>The parameter as the spec syntax writes it, e.g. "lr=log(1e-4,1e-1)".</summary>
    public abstract string Describe();

    /// <summary>True when <paramref name="value"/> lies in this parameter's range.</summary>
    public abstract bool Contains(ParamValue value);

    private protected void RequireName()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Any(c => char.IsWhiteSpace(c) || c is '=' or ',' or '(' or ')'))
            throw new InputException($"search space: parameter name '{Name}' must be non-empty without spaces, '=', ',' or parentheses");
    }

    private protected static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A real number uniform in [Low, High].</summary>
public sealed record UniformParameter(string Name, double Low, double High) : Parameter(Name)
{
    /// <inheritdoc/>
    public override ParamValue At(double u) => ParamValue.Of(Low + u * (High - Low));

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireName();
        if (!double.IsFinite(Low) || !double.IsFinite(High) || !(Low < High))
            throw new InputException($"search space: {Name}: empty or invalid range [{F(Low)}, {F(High)}] (need low < high, both finite)");
    }

    /// <inheritdoc/>
    public override string Describe() => $"{Name}=uniform({F(Low)},{F(High)})";

    /// <inheritdoc/>
    public override bool Contains(ParamValue value) => value.Number is { } x && x >= Low && x <= High;
}

/// <summary>A positive real number whose logarithm is uniform (learning rates, weight decays).</summary>
public sealed record LogUniformParameter(string Name, double Low, double High) : Parameter(Name)
{
    /// <inheritdoc/>
    public override ParamValue At(double u) => ParamValue.Of(Math.Exp(Math.Log(Low) + u * (Math.Log(High) - Math.Log(Low))));

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireName();
        if (!double.IsFinite(Low) || !double.IsFinite(High) || !(Low > 0) || !(Low < High))
            throw new InputException($"search space: {Name}: empty or invalid log range [{F(Low)}, {F(High)}] (need 0 < low < high)");
    }

    /// <inheritdoc/>
    public override string Describe() => $"{Name}=log({F(Low)},{F(High)})";

    /// <inheritdoc/>
    public override bool Contains(ParamValue value) => value.Number is { } x && x >= Low * (1 - 1e-12) && x <= High * (1 + 1e-12);
}

/// <summary>An integer uniform over [Low, High] (both included), or log-uniform when <paramref name="Log"/>.</summary>
public sealed record IntParameter(string Name, long Low, long High, bool Log = false) : Parameter(Name)
{
    /// <inheritdoc/>
    public override ParamValue At(double u)
    {
        if (!Log) return ParamValue.Of(Math.Min(High, Low + (long)Math.Floor(u * (High - Low + 1))));
        // Log scale over [Low - 0.5, High + 0.5] so both ends get their share, as Optuna's IntDistribution(log=True).
        double lo = Math.Log(Low - 0.5), hi = Math.Log(High + 0.5);
        return ParamValue.Of(Math.Clamp((long)Math.Round(Math.Exp(lo + u * (hi - lo))), Low, High));
    }

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireName();
        if (Low > High) throw new InputException($"search space: {Name}: empty integer range [{Low}, {High}]");
        if (Log && Low < 1) throw new InputException($"search space: {Name}: a log integer range needs low >= 1 (got {Low})");
    }

    /// <inheritdoc/>
    public override string Describe() => $"{Name}={(Log ? "logint" : "int")}({Low},{High})";

    /// <inheritdoc/>
    public override bool Contains(ParamValue value) => value.Number is { } x && x == Math.Floor(x) && x >= Low && x <= High;
}

/// <summary>One of a fixed list of choices, each equally likely.</summary>
public sealed record CategoricalParameter(string Name, IReadOnlyList<string> Choices) : Parameter(Name)
{
    /// <inheritdoc/>
    public override ParamValue At(double u) => ParamValue.Of(Choices[Math.Min(Choices.Count - 1, (int)(u * Choices.Count))]);

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireName();
        if (Choices.Count == 0) throw new InputException($"search space: {Name}: no choices");
        if (Choices.Distinct(StringComparer.Ordinal).Count() != Choices.Count)
            throw new InputException($"search space: {Name}: repeated choice in [{string.Join(",", Choices)}]");
    }

    /// <inheritdoc/>
    public override string Describe() => $"{Name}=choice({string.Join(",", Choices)})";

    /// <inheritdoc/>
    public override bool Contains(ParamValue value) => value.Text is { } t && Choices.Contains(t);
}
