// An untrained-model stand-in for the learned projector that follows pixel-unshuffle in a VLM: it brings the f²·C
// wide unshuffled tokens back to C channels so the comparison with token merging (ToMe: Bolya et al.,
// arXiv:2210.09461; RADIOv2.5 section 3.4 of shared/research/radio.md) is at equal token width. No reference file.
//
// Encoder: the top `width` principal directions of the training tokens (the best rank-`width` linear code for
// squared reconstruction error). Decoder: an affine map from codes back to tokens fitted by least squares on the
// same training tokens (for PCA codes this is the transposed basis plus the mean, up to rounding).
//
// Deviations:
// - A VLM learns its projector end to end for the language model; here the projection is fitted without labels
//   for reconstruction only, which favours this baseline on the reconstruction measure.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>
/// PCA encoder plus least-squares linear decoder for (..., D) tokens. Its tensors live in the dispose scope that
/// was current when <see cref="Fit"/> ran.
/// </summary>
public sealed class LinearTokenCodec
{
    private readonly Tensor mean;      // (D) float64
    private readonly Tensor basis;     // (D, W) float64
    private readonly Tensor decoder;   // (W + 1, D) float64

    private LinearTokenCodec(Tensor mean, Tensor basis, Tensor decoder) =>
        (this.mean, this.basis, this.decoder) = (mean, basis, decoder);

    /// <summary>Input width D.</summary>
    public long InputWidth => mean.shape[0];

    /// <summary>Code width W.</summary>
    public long Width => basis.shape[1];

    /// <summary>Fits the codec on training tokens (M, D), M > width.</summary>
    public static LinearTokenCodec Fit(Tensor train, int width)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.dim() != 2) throw new ArgumentException("expected (M, D) training tokens", nameof(train));
        long M = train.shape[0], D = train.shape[1];
        if (width < 1 || width > D || M <= width)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"need 1 <= width <= {D} and width < {M}");

        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = train.to_type(ScalarType.Float64);                                        // (M, D)
        var mu = x.mean([0]);                                                             // (D)
        var centered = x - mu;                                                            // (M, D)
        var covariance = centered.t().matmul(centered) / (M - 1);                         // (D, D)
        var (_, vectors) = torch.linalg.eigh(covariance);                                 // ascending eigenvalues
        var top = vectors.narrow(1, D - width, width).flip(1).contiguous();              // (D, W)
        var codes = centered.matmul(top);                                                 // (M, W)
        var design = torch.cat([codes, torch.ones(M, 1, dtype: ScalarType.Float64)], 1);   // (M, W + 1)
        var solution = torch.linalg.lstsq(design, x).Solution;                            // (W + 1, D)
        return new LinearTokenCodec(mu.MoveToOuterDisposeScope(), top.MoveToOuterDisposeScope(),
            solution.MoveToOuterDisposeScope());
    }

    /// <summary>(..., D) to (..., W), in the input's dtype.</summary>
    public Tensor Encode(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        using var scope = torch.NewDisposeScope();
        var codes = (tokens.to_type(ScalarType.Float64) - mean).matmul(basis);           // (..., W)
        return codes.to_type(tokens.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>(..., W) to (..., D), in the codes' dtype.</summary>
    public Tensor Decode(Tensor codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        using var scope = torch.NewDisposeScope();
        long W = Width;
        var z = codes.to_type(ScalarType.Float64);                                        // (..., W)
        var tokens = z.matmul(decoder.narrow(0, 0, W)) + decoder[W];                      // (..., D)
        return tokens.to_type(codes.dtype).MoveToOuterDisposeScope();
    }
}
