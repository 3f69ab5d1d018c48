// Per-teacher feature normalizers for distillation (PHI-S, arXiv:2410.01680, section 2): each teacher's spatial
// targets are mapped by an online-estimated invertible normalizer before an MSE loss, and the student's adaptor
// predicts in that normalized space; the inverse maps predictions back to teacher units.
//
// The estimators' state lives in this module's buffers, so it travels inside every training checkpoint and the
// final model.safetensors (a resumed run continues with exactly the statistics it had; eval maps back exactly).
// Buffers are refreshed from the estimators after every update and read back into them on first use, which is
// after a checkpoint was loaded when the run resumed.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Online normalizers for teachers' spatial features, checkpointed as module buffers.</summary>
public sealed class TeacherNormalizers : nn.Module
{
    private readonly Dictionary<string, NormalizerEstimator> _estimators = [];
    private readonly Dictionary<string, Dictionary<string, string>> _bufferNames = [];
    private bool _synced;

    /// <param name="method">A <see cref="FeatureNormalizers"/> name (mse, global-std, std, pca-w, zca, hca, phi-s).</param>
    /// <param name="channels">Feature width per teacher name.</param>
    public TeacherNormalizers(string method, IReadOnlyDictionary<string, int> channels, int updatePeriod = NormalizerEstimator.DefaultUpdatePeriod,
        long? warmupSamples = null) : base(nameof(TeacherNormalizers))
    {
        Method = method;
        foreach (var (teacher, c) in channels)
        {
            var estimator = new NormalizerEstimator(FeatureNormalizers.Create(method, c), updatePeriod, warmupSamples);
            _estimators[teacher] = estimator;
            var names = new Dictionary<string, string>();
            using var scope = torch.NewDisposeScope();
            foreach (var (key, value) in estimator.State())
            {
                var buffer = $"{teacher}__{key.Replace('.', '_')}";
                names[key] = buffer;
                register_buffer(buffer, value.clone().DetachFromDisposeScope());
            }
            _bufferNames[teacher] = names;
        }
    }

    /// <summary>The normalizer kind, e.g. "phi-s".</summary>
    public string Method { get; }

    /// <summary>The names of the teachers that have a normalizer.</summary>
    public IReadOnlyCollection<string> Teachers => _estimators.Keys;

    /// <summary>The estimator of one teacher (after syncing from the buffers).</summary>
    public NormalizerEstimator Estimator(string teacher)
    {
        EnsureSynced();
        return _estimators[teacher];
    }

    /// <summary>Accumulates statistics from a teacher's features (B, C, h, w) (no-op once frozen).</summary>
    public void Observe(string teacher, Tensor features)
    {
        var estimator = Estimator(teacher);
        if (estimator.IsFrozen) return;
        using var scope = torch.NewDisposeScope();
        estimator.Observe(features.permute(0, 2, 3, 1));                                    // (B, h, w, C)
        CopyToBuffers(teacher, estimator);
    }

    /// <summary>Fits a teacher's normalizer on everything seen and freezes it (no-op once frozen).</summary>
    public void Freeze(string teacher)
    {
        var estimator = Estimator(teacher);
        if (!estimator.Freeze()) return;
        using var scope = torch.NewDisposeScope();
        CopyToBuffers(teacher, estimator);
    }

    private void CopyToBuffers(string teacher, NormalizerEstimator estimator)
    {
        using var _ = torch.no_grad();
        var buffers = named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (key, value) in estimator.State()) buffers[_bufferNames[teacher][key]].copy_(value);
    }

    /// <summary>Teacher units → normalized space, on (B, C, h, w).</summary>
    public Tensor Normalize(string teacher, Tensor features) => Apply(teacher, features, inverse: false);

    /// <summary>Normalized space → teacher units, on (B, C, h, w).</summary>
    public Tensor Denormalize(string teacher, Tensor features) => Apply(teacher, features, inverse: true);

    private Tensor Apply(string teacher, Tensor features, bool inverse)
    {
        var n = Estimator(teacher).Normalizer;
        using var scope = torch.NewDisposeScope();
        var tokens = features.permute(0, 2, 3, 1);                                         // (B, h, w, C)
        var mapped = inverse ? n.Inverse(tokens) : n.Forward(tokens);
        return mapped.permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();          // (B, C, h, w)
    }

    // The buffers hold the truth after a checkpoint load; read them into the estimators once.
    private void EnsureSynced()
    {
        if (_synced) return;
        var buffers = named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (teacher, estimator) in _estimators)
            estimator.LoadState(_bufferNames[teacher].ToDictionary(kv => kv.Key, kv => buffers[kv.Value]));
        _synced = true;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var e in _estimators.Values) e.Dispose();
        base.Dispose(disposing);
    }
}
