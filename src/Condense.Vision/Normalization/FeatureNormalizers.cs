// Names for the PHI-S target normalizations (Ranzinger et al., arXiv:2410.01680, Table 1), as recipes and the CLI
// spell them. Notes: /work/shared/research/radio.md, section 2.3.
//
// Deviations: "mse" names the identity transform; the paper's cosine and hybrid baselines are loss choices that
// also use it.
using Condense.Core;

namespace Condense.Vision.Normalization;

/// <summary>Creates a feature normalizer by name.</summary>
public static class FeatureNormalizers
{
    public const string Mse = "mse";
    public const string GlobalStd = "global-std";
    public const string Std = "std";
    public const string PcaWhiten = "pca-w";
    public const string Zca = "zca";
    public const string Hca = "hca";
    public const string PhiS = "phi-s";

    /// <summary>Every name <see cref="Create"/> accepts, in the paper's order from raw to PHI-S.</summary>
    public static IReadOnlyList<string> Names { get; } = [Mse, GlobalStd, Std, PcaWhiten, Zca, Hca, PhiS];

    /// <summary>
    /// A new, unfitted (identity) normalizer for <paramref name="channels"/>-wide features. The name is matched
    /// case-insensitively; an unknown one throws <see cref="InputException"/> listing the valid names.
    /// </summary>
    public static IFeatureNormalizer Create(string name, int channels)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be positive");
        return name.Trim().ToLowerInvariant() switch
        {
            Mse => new IdentityNormalizer(channels),
            GlobalStd => new GlobalStandardizeNormalizer(channels),
            Std => new StandardizeNormalizer(channels),
            PcaWhiten => new PcaWhitenNormalizer(channels),
            Zca => new ZcaNormalizer(channels),
            Hca => new HcaNormalizer(channels),
            PhiS => new PhiSNormalizer(channels),
            _ => throw new InputException(
                $"unknown feature normalizer '{name}' (expected one of: {string.Join(", ", Names)})"),
        };
    }
}
