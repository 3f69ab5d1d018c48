// Rotary position embedding (RoFormer, Su et al., arXiv:2104.09864) in the two layouts LLaMA checkpoints use.
// Reference: HF modeling_llama.py (LlamaRotaryEmbedding, rotate_half, apply_rotary_pos_emb) for RotateHalf;
// karpathy/llama2.c run.c (the RoPE loop in `forward`) for Interleaved. Both rotate dimension pair j by
// position * theta^(-2j/hd); they differ only in which two dimensions form pair j.
using static TorchSharp.torch;

namespace Condense.Language.Models;

/// <summary>Which two dimensions of a head RoPE rotates together.</summary>
public enum RopeLayout
{
    /// <summary>Hugging Face: dimensions j and j + hd/2 (rotate_half).</summary>
    RotateHalf,

    /// <summary>llama2.c and Meta's original code: dimensions 2j and 2j + 1.</summary>
    Interleaved,
}

/// <summary>Rotary position embedding for a given <see cref="RopeLayout"/>.</summary>
public static class Rope
{
    /// <summary>
    /// cos and sin for positions [start, start + length), each (length, headDim), with each angle placed at
    /// both dimensions of its pair in <paramref name="layout"/>.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) CosSin(long start, long length, int headDim, Device device,
        RopeLayout layout = RopeLayout.RotateHalf, double theta = LlamaConfig.RopeTheta)
    {
        using var scope = NewDisposeScope();
        var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, float64, device) / headDim); // (hd/2)
        var positions = arange(start, start + length, 1, float64, device);                // (T)
        var freqs = outer(positions, invFreq);                                             // (T, hd/2)
        var emb = layout == RopeLayout.RotateHalf
            ? cat([freqs, freqs], dim: -1)                                                 // (T, hd): j, j + hd/2
            : freqs.repeat_interleave(2, dim: -1);                                         // (T, hd): 2j, 2j + 1
        var cos = emb.cos().to_type(ScalarType.Float32);
        var sin = emb.sin().to_type(ScalarType.Float32);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>cos and sin (length, hd) for positions [start, start + length) of a model with <paramref name="config"/>.</summary>
    public static (Tensor Cos, Tensor Sin) CosSin(LlamaConfig config, long start, long length, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        return CosSin(start, length, config.HeadDim, device, config.RopeLayout);
    }

    /// <summary>x * cos + rotate(x) * sin, where x is (B, nh, T, hd) and cos/sin are (T, hd) from <c>CosSin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, RopeLayout layout = RopeLayout.RotateHalf)
    {
        using var scope = NewDisposeScope();
        var rotated = layout == RopeLayout.RotateHalf ? RotateHalf(x) : RotatePairs(x); // (B, nh, T, hd)
        return (x * cos.to_type(x.dtype) + rotated * sin.to_type(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>[x1, x2] to [-x2, x1] over the halves of the last dimension.</summary>
    private static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                // (..., hd/2)
        var x2 = x.narrow(-1, half, half);                             // (..., hd/2)
        return cat([-x2, x1], dim: -1);                                // (..., hd)
    }

    /// <summary>(a, b) to (-b, a) for each pair of adjacent dimensions.</summary>
    private static Tensor RotatePairs(Tensor x)
    {
        var pairs = x.unflatten(x.dim() - 1, [x.shape[^1] / 2, 2]);    // (..., hd/2, 2)
        var a = pairs.select(-1, 0);
        var b = pairs.select(-1, 1);
        return stack([-b, a], dim: -1).flatten(-2);                    // (..., hd)
    }
}
