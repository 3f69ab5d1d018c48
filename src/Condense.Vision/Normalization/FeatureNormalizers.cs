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
    /// <summary>The identity transform: raw targets, as with the MSE, cosine and hybrid baselines.</summary>
    public const string Mse = "mse";
    /// <summary>One mean and one standard deviation shared by all channels.</summary>
    public const string GlobalStd = "global-std";
    /// <summary>Per-channel standardization (mean and standard deviation of each channel).</summary>
    public const string Std = "std";
    /// <summary>PCA whitening: W = Λ^{-½}Uᵀ.</summary>
    public const string PcaWhiten = "pca-w";
    /// <summary>ZCA whitening: W = UΛ^{-½}Uᵀ.</summary>
    public const string Zca = "zca";
    /// <summary>Hadamard whitening: W = HΛ^{-½}Uᵀ.</summary>
    public const string Hca = "hca";
    /// <summary>PHI-S: a Hadamard rotation of the PCA basis with one isotropic scale, W = αHUᵀ.</summary>
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
