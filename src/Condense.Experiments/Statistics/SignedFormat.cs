// Signed numbers for results tables: "+1.2", "-0.4", and a value that rounds to zero as an unsigned "0.0". A two-section
// .NET format ("+0.0;-0.0") sends a negative number that rounds to zero through the first section, sign and all, and
// prints "-+0.0"; the third (zero) section is what prevents it.
using System.Globalization;

namespace Condense.Experiments.Statistics;

/// <summary>Signed, invariant-culture formatting of differences with one decimal.</summary>
public static class SignedFormat
{
    /// <summary><paramref name="value"/> with one decimal and its sign: "+1.2", "-0.4", "0.0".</summary>
    public static string Points(double value) => value.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    /// <summary><paramref name="fraction"/> as a percentage with one decimal and its sign: "+1.2%", "-0.4%", "0.0%".</summary>
    public static string Percent(double fraction) => fraction.ToString("+0.0%;-0.0%;0.0%", CultureInfo.InvariantCulture);
}
