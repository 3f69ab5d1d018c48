// The shared machinery of the PHI-S normalizations (Ranzinger et al., arXiv:2410.01680, section 2; App. A.6 for
// the fold into the final Linear): hold μ, W and Θ, apply them to (..., C) features, fold Θ and μ into a Linear,
// and checkpoint them. Subclasses only say how (μ, W, Θ) follow from the running moments.
// Reference: NVIDIA TAO (nvidia_tao_pytorch, RADIO distillation loss), WhitenNormState (transform_targets,
// transform_student, modify_linear; `whiten` / `inv_whiten` start as the identity).
//
// Deviations:
// - Forward and Inverse compute in float64 and cast back to the input's dtype (TAO uses the feature dtype); the
//   round trip is then exact to float32 precision even for whitening of ill-conditioned teachers.
// - modify_linear's replica handling (upsampling heads whose output is several stacked teacher vectors) is not
//   needed by our adaptor heads and not supported: the Linear's output width must be exactly C.
// - A Linear without bias cannot absorb μ ≠ 0; that is an error rather than silently dropping the mean.
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Base of the affine normalizers: subclasses compute (μ, W, Θ) from the moments.</summary>
public abstract class AffineFeatureNormalizer : IFeatureNormalizer
{
    private readonly Tensor mean;       // (C) float64
    private readonly Tensor whiten;     // (C, C) float64, W
    private readonly Tensor inverse;    // (C, C) float64, Θ

    /// <summary>An unfitted normalizer (μ = 0, W = Θ = I) for <paramref name="channels"/>-wide features.</summary>
    /// <param name="name">The factory name (see <see cref="FeatureNormalizers"/>).</param>
    /// <param name="channels">Feature width C.</param>
    protected AffineFeatureNormalizer(string name, int channels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be positive");
        Name = name;
        Channels = channels;
        mean = zeros(channels, dtype: ScalarType.Float64).DetachFromDisposeScope();
        whiten = eye(channels, dtype: ScalarType.Float64).DetachFromDisposeScope();
        inverse = eye(channels, dtype: ScalarType.Float64).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Channels { get; }

    /// <inheritdoc />
    public bool IsFitted { get; private set; }

    /// <inheritdoc />
    public Tensor Mean => mean;

    /// <inheritdoc />
    public Tensor ForwardMatrix => whiten;

    /// <inheritdoc />
    public Tensor InverseMatrix => inverse;

    /// <inheritdoc />
    public void Fit(RunningMoments moments)
    {
        ArgumentNullException.ThrowIfNull(moments);
        if (moments.Channels != Channels)
            throw new ArgumentException($"{Name}: moments have {moments.Channels} channels, expected {Channels}.",
                nameof(moments));
        if (moments.Count < 2)
            throw new ArgumentException($"{Name}: fitting needs at least 2 samples, got {moments.Count}.",
                nameof(moments));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (mu, w, theta) = Solve(moments);
        mean.copy_(mu);
        whiten.copy_(w);
        inverse.copy_(theta);
        IsFitted = true;
    }

    /// <summary>
    /// μ (C), W (C, C) and Θ = W⁻¹ (C, C), float64, from moments with at least 2 samples. Runs inside a dispose
    /// scope and without gradients; the results are copied.
    /// </summary>
    protected abstract (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments);

    /// <inheritdoc />
    public Tensor Forward(Tensor y)
    {
        CheckLastDim(y, nameof(y));
        using var scope = NewDisposeScope();
        var rows = y.reshape(-1, Channels).to_type(ScalarType.Float64);           // (N, C)
        var mu = mean.to(rows.device);                                             // (C)
        var w = whiten.to(rows.device);                                            // (C, C)
        var normalized = (rows - mu).matmul(w.t());                                // (N, C)
        return normalized.to_type(y.dtype).reshape(y.shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Inverse(Tensor normalized)
    {
        CheckLastDim(normalized, nameof(normalized));
        using var scope = NewDisposeScope();
        var rows = normalized.reshape(-1, Channels).to_type(ScalarType.Float64);  // (N, C)
        var mu = mean.to(rows.device);                                             // (C)
        var theta = inverse.to(rows.device);                                       // (C, C)
        var y = rows.matmul(theta.t()) + mu;                                       // (N, C)
        return y.to_type(normalized.dtype).reshape(normalized.shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void FoldInto(Linear last)
    {
        ArgumentNullException.ThrowIfNull(last);
        if (last.weight is null || last.weight.shape[0] != Channels)
            throw new ArgumentException(
                $"{Name}: the Linear must output {Channels} features, it has weight " +
                $"({string.Join(", ", last.weight?.shape ?? [])}).", nameof(last));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var theta = inverse.to(last.weight.device);                                // (C, C)
        var mu = mean.to(last.weight.device);                                      // (C)
        if (last.bias is null && mu.abs().max().item<double>() != 0)
            throw new ArgumentException($"{Name}: the Linear has no bias to absorb the mean.", nameof(last));
        var w = theta.matmul(last.weight.to_type(ScalarType.Float64));             // (C, in)
        last.weight.copy_(w.to_type(last.weight.dtype));
        if (last.bias is not null)
        {
            var b = theta.matmul(last.bias.to_type(ScalarType.Float64)) + mu;      // (C)
            last.bias.copy_(b.to_type(last.bias.dtype));
        }
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> State() => new()
    {
        ["mean"] = mean.clone(),
        ["whiten"] = whiten.clone(),
        ["inv_whiten"] = inverse.clone(),
        ["fitted"] = tensor(IsFitted),
    };

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        string owner = $"normalizer '{Name}'";
        var mu = StateTensors.Get(state, "mean", [Channels], owner);
        var w = StateTensors.Get(state, "whiten", [Channels, Channels], owner);
        var theta = StateTensors.Get(state, "inv_whiten", [Channels, Channels], owner);
        bool fitted = StateTensors.Get(state, "fitted", [], owner).to_type(ScalarType.Bool).item<bool>();
        mean.copy_(mu.to_type(ScalarType.Float64));
        whiten.copy_(w.to_type(ScalarType.Float64));
        inverse.copy_(theta.to_type(ScalarType.Float64));
        IsFitted = fitted;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the μ, W and Θ tensors when <paramref name="disposing"/> is true.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        mean.Dispose();
        whiten.Dispose();
        inverse.Dispose();
    }

    private void CheckLastDim(Tensor t, string parameter)
    {
        ArgumentNullException.ThrowIfNull(t, parameter);
        if (t.dim() == 0 || t.shape[^1] != Channels)
            throw new ArgumentException(
                $"{Name}: expected (..., {Channels}) features, got ({string.Join(", ", t.shape)}).", parameter);
    }
}
