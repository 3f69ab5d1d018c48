// The layers Condense's vision models are made of, as ONNX nodes: elementwise and shape ops, Linear (MatMul with the
// weight stored transposed), LayerNorm (opset 17's LayerNormalization), exact GELU (x/2 (1 + erf(x/sqrt 2)); Gelu is
// an op only from opset 20), BatchNorm in eval mode, convolutions, nearest resizing, and multi-head attention with an
// optional additive bias (timm Attention, FasterViT/E-RADIO WindowAttention).
//
// Shapes use 0 ("copy this dim") and -1 in Reshape so the batch stays free in every graph.
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>Layer-level ONNX emitters over <see cref="OnnxGraphBuilder"/>.</summary>
public static class OnnxLayers
{
    /// <summary>x + y (broadcasting).</summary>
    public static string Add(this OnnxGraphBuilder b, string x, string y) => b.Op("Add", [x, y]);
    /// <summary>x - y (broadcasting).</summary>
    public static string Sub(this OnnxGraphBuilder b, string x, string y) => b.Op("Sub", [x, y]);
    /// <summary>x * y (broadcasting).</summary>
    public static string Mul(this OnnxGraphBuilder b, string x, string y) => b.Op("Mul", [x, y]);
    /// <summary>x / y (broadcasting; integer division floors).</summary>
    public static string Div(this OnnxGraphBuilder b, string x, string y) => b.Op("Div", [x, y]);
    /// <summary>Batched matrix product.</summary>
    public static string MatMul(this OnnxGraphBuilder b, string x, string y) => b.Op("MatMul", [x, y]);
    /// <summary>max(x, 0).</summary>
    public static string Relu(this OnnxGraphBuilder b, string x) => b.Op("Relu", [x]);
    /// <summary>1 / (1 + exp(-x)).</summary>
    public static string Sigmoid(this OnnxGraphBuilder b, string x) => b.Op("Sigmoid", [x]);
    /// <summary>x * sigmoid(x).</summary>
    public static string Silu(this OnnxGraphBuilder b, string x) => b.Mul(x, b.Sigmoid(x));
    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    public static string Softmax(this OnnxGraphBuilder b, string x, int axis = -1) => b.Op("Softmax", [x], ("axis", axis));
    /// <summary>x times a constant.</summary>
    public static string Scale(this OnnxGraphBuilder b, string x, double factor) => b.Mul(x, b.Scalar((float)factor));

    /// <summary>Reshape; 0 copies the input's dim, -1 is inferred.</summary>
    public static string Reshape(this OnnxGraphBuilder b, string x, params long[] shape) => b.Op("Reshape", [x, b.Ints(shape)]);

    /// <summary>Reshape to a shape held in a graph value (1-D int64).</summary>
    public static string ReshapeTo(this OnnxGraphBuilder b, string x, string shape) => b.Op("Reshape", [x, shape]);

    /// <summary>Permutes the dims.</summary>
    public static string Transpose(this OnnxGraphBuilder b, string x, params long[] perm) => b.Op("Transpose", [x], ("perm", perm));
    /// <summary>Concatenates along <paramref name="axis"/>.</summary>
    public static string Concat(this OnnxGraphBuilder b, int axis, params string[] xs) => b.Op("Concat", xs, ("axis", axis));

    /// <summary>x[starts:ends] along <paramref name="axes"/> (step 1).</summary>
    public static string Slice(this OnnxGraphBuilder b, string x, long[] starts, long[] ends, long[] axes) =>
        b.Op("Slice", [x, b.Ints(starts), b.Ints(ends), b.Ints(axes)]);

    /// <summary>x[..., index, ...] along <paramref name="axis"/>, the axis removed.</summary>
    public static string Select(this OnnxGraphBuilder b, string x, int axis, long index) =>
        b.Op("Gather", [x, b.IntScalar(index)], ("axis", axis));

    /// <summary>Dims <paramref name="start"/>..<paramref name="end"/> (exclusive) of x's runtime shape, as a 1-D int64 value.</summary>
    public static string Dims(this OnnxGraphBuilder b, string x, int start, int end) =>
        b.Op("Shape", [x], ("start", start), ("end", end));

    /// <summary>Broadcasts x (1, ...) to the batch of <paramref name="like"/>: (B, ...).</summary>
    public static string ExpandToBatch(this OnnxGraphBuilder b, string x, string like, params long[] rest) =>
        b.Op("Expand", [x, b.Concat(0, b.Dims(like, 0, 1), b.Ints(rest))]);

    /// <summary>Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))).</summary>
    public static string Gelu(this OnnxGraphBuilder b, string x)
    {
        var erf = b.Op("Erf", [b.Scale(x, 1 / Math.Sqrt(2))]);
        return b.Mul(b.Scale(x, 0.5), b.Add(erf, b.Scalar(1)));
    }

    /// <summary>nn.Linear on the last dim: x @ Wᵀ (+ bias); the weight is stored transposed as "{prefix}.weight".</summary>
    public static string Linear(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x)
    {
        using var scope = NewDisposeScope();
        var y = b.MatMul(x, b.Weight(prefix + ".weight", w[prefix + ".weight"].t()));
        return w.Has(prefix + ".bias") ? b.Add(y, b.Weight(prefix + ".bias", w[prefix + ".bias"])) : y;
    }

    /// <summary>LayerNorm over the last dim with the module's weight and bias.</summary>
    public static string LayerNorm(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, double eps) =>
        b.Op("LayerNormalization", [x, b.Weight(prefix + ".weight", w[prefix + ".weight"]), b.Weight(prefix + ".bias", w[prefix + ".bias"])],
            ("axis", -1), ("epsilon", eps));

    /// <summary>LayerNorm over the channels of (B, C, H, W) (timm LayerNorm2d).</summary>
    public static string LayerNorm2d(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, double eps) =>
        b.Transpose(b.LayerNorm(w, prefix, b.Transpose(x, 0, 2, 3, 1), eps), 0, 3, 1, 2);

    /// <summary>BatchNorm2d in eval mode (running statistics).</summary>
    public static string BatchNorm(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, double eps) =>
        b.Op("BatchNormalization",
            [x, b.Weight(prefix + ".weight", w[prefix + ".weight"]), b.Weight(prefix + ".bias", w[prefix + ".bias"]),
             b.Weight(prefix + ".running_mean", w[prefix + ".running_mean"]), b.Weight(prefix + ".running_var", w[prefix + ".running_var"])],
            ("epsilon", eps));

    /// <summary>Conv2d with the module's weight (its shape gives the kernel) and bias when it has one.</summary>
    public static string Conv(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int stride = 1, int padding = 0, int groups = 1)
    {
        var weight = w[prefix + ".weight"];
        long kh = weight.shape[2], kw = weight.shape[3];
        var inputs = new List<string> { x, b.Weight(prefix + ".weight", weight) };
        if (w.Has(prefix + ".bias")) inputs.Add(b.Weight(prefix + ".bias", w[prefix + ".bias"]));
        return b.Op("Conv", [.. inputs], ("kernel_shape", new long[] { kh, kw }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { padding, padding, padding, padding }), ("group", groups));
    }

    /// <summary>ConvTranspose2d (no padding, no output padding) with the module's weight and bias.</summary>
    public static string ConvTranspose(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int stride)
    {
        var weight = w[prefix + ".weight"];
        var inputs = new List<string> { x, b.Weight(prefix + ".weight", weight) };
        if (w.Has(prefix + ".bias")) inputs.Add(b.Weight(prefix + ".bias", w[prefix + ".bias"]));
        return b.Op("ConvTranspose", [.. inputs], ("kernel_shape", new long[] { weight.shape[2], weight.shape[3] }),
            ("strides", new long[] { stride, stride }));
    }

    /// <summary>Zero or reflect padding of the last two dims: <paramref name="bottom"/> rows and <paramref name="right"/> columns.</summary>
    public static string PadBottomRight(this OnnxGraphBuilder b, string x, long bottom, long right, bool reflect = false) =>
        b.Op("Pad", [x, b.Ints(0, 0, 0, 0, 0, 0, bottom, right)], ("mode", reflect ? "reflect" : "constant"));

    /// <summary>PyTorch's interpolate(mode="nearest") of (B, C, H, W) to <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static string ResizeNearest(this OnnxGraphBuilder b, string x, long height, long width) =>
        b.Op("Resize", [x, "", "", b.Concat(0, b.Dims(x, 0, 2), b.Ints(height, width))],
            ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));

    /// <summary>fc1, exact GELU, fc2 (timm Mlp, FasterViT Mlp).</summary>
    public static string Mlp(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x) =>
        b.Linear(w, prefix + ".fc2", b.Gelu(b.Linear(w, prefix + ".fc1", x)));

    /// <summary>
    /// Multi-head self-attention with a fused qkv projection over (B, N, C): softmax(q k^T / sqrt(d) + bias) v, then
    /// proj. <paramref name="bias"/> (1, heads, N, N) is added to the logits when given.
    /// </summary>
    public static string Attention(this OnnxGraphBuilder b, ModuleWeights w, string prefix, string x, int numHeads, long dim, string? bias = null)
    {
        long headDim = dim / numHeads;
        var qkv = b.Reshape(b.Linear(w, prefix + ".qkv", x), 0, 0, 3, numHeads, headDim);    // (B, N, 3, nh, hd)
        qkv = b.Transpose(qkv, 2, 0, 3, 1, 4);                                                // (3, B, nh, N, hd)
        var q = b.Scale(b.Select(qkv, 0, 0), Math.Pow(headDim, -0.5));                        // (B, nh, N, hd)
        var k = b.Select(qkv, 0, 1);
        var v = b.Select(qkv, 0, 2);
        var logits = b.MatMul(q, b.Transpose(k, 0, 1, 3, 2));                                 // (B, nh, N, N)
        if (bias is not null) logits = b.Add(logits, bias);
        var y = b.MatMul(b.Softmax(logits), v);                                               // (B, nh, N, hd)
        y = b.Reshape(b.Transpose(y, 0, 2, 1, 3), 0, 0, dim);                                 // (B, N, C)
        return b.Linear(w, prefix + ".proj", y);
    }
}
