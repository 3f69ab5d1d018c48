using System.Globalization;

namespace Condense.Search.Spaces;

/// <summary>A hyperparameter's value: a number (reals and integers) or a categorical choice.</summary>
public readonly record struct ParamValue(double? Number, string? Text)
{
    /// <summary>A numeric value.</summary>
    public static ParamValue Of(double x) => new(x, null);

    /// <summary>A categorical value.</summary>
    public static ParamValue Of(string s) => new(null, s);

    /// <summary>The number; throws when the value is categorical.</summary>
    public double AsDouble => Number ?? throw new InvalidOperationException($"'{Text}' is categorical, not a number");

    /// <summary>The number as an integer (integer parameters hold exact integers).</summary>
    public long AsLong => (long)Math.Round(AsDouble);

    /// <inheritdoc/>
    public override string ToString() => Text ?? Number!.Value.ToString("G6", CultureInfo.InvariantCulture);
}
