namespace Condense.Core;

/// <summary>
/// A result came out NaN or infinite (a perplexity, a loss, a model's logits): usually corrupt weights. A number that
/// is not finite is never reported as a result; the CLI maps this to exit code 1.
/// </summary>
public sealed class NonFiniteResultException(string what, double value, string? hint = null)
    : Exception($"{what} is {value}, not a finite number{(hint is null ? "" : $" ({hint})")}")
{
    /// <summary>Throws when <paramref name="value"/> is NaN or infinite; returns it otherwise.</summary>
    public static double Check(double value, string what, string? hint = null) =>
        double.IsFinite(value) ? value : throw new NonFiniteResultException(what, value, hint);
}
