// Key/value cache for incremental decoding, preallocated for the whole sequence like llama2.c's key_cache and
// value_cache (RunState), one pair per layer that still has attention.
using static TorchSharp.torch;

namespace Condense.Language.Models;

/// <summary>The keys and values of all past positions of one layer: (B, nkv, capacity, hd) each.</summary>
public sealed class LayerKvCache : IDisposable
{
    private readonly Tensor keys;
    private readonly Tensor values;

    internal LayerKvCache(long batch, int nKvHeads, long capacity, int headDim, ScalarType dtype, Device device)
    {
        keys = zeros([batch, nKvHeads, capacity, headDim], dtype, device);
        values = zeros([batch, nKvHeads, capacity, headDim], dtype, device);
        keys.DetachFromDisposeScope();
        values.DetachFromDisposeScope();
    }

    /// <summary>Positions filled so far (the owning <see cref="LlamaKvCache"/> advances it after each step).</summary>
    public long Length { get; internal set; }

    /// <summary>Writes k, v (B, nkv, T, hd) at positions Length .. +T; returns views of all filled positions.</summary>
    internal (Tensor K, Tensor V) Append(Tensor k, Tensor v)
    {
        long T = k.shape[2];
        if (Length + T > keys.shape[2])
            throw new ArgumentException($"KV cache holds {keys.shape[2]} positions; {Length + T} are needed.");
        using (no_grad())
        {
            keys.narrow(2, Length, T).copy_(k);
            values.narrow(2, Length, T).copy_(v);
        }
        return (keys.narrow(2, 0, Length + T), values.narrow(2, 0, Length + T));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        keys.Dispose();
        values.Dispose();
    }
}

/// <summary>Per-layer KV caches of a <see cref="LlamaForCausalLM"/>; pruned attention blocks get none.</summary>
public sealed class LlamaKvCache : IDisposable
{
    private readonly LayerKvCache?[] layers;

    /// <summary>
    /// An empty cache of <paramref name="capacity"/> positions (at most the config's MaxSeqLen) for <paramref name="batch"/>
    /// rows, one (K, V) pair per layer with attention, in <paramref name="dtype"/> on <paramref name="device"/>.
    /// </summary>
    public LlamaKvCache(LlamaConfig config, long batch, long capacity, ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (capacity > config.MaxSeqLen)
            throw new ArgumentException($"KV cache capacity {capacity} exceeds MaxSeqLen {config.MaxSeqLen}.");
        Capacity = capacity;
        layers = Enumerable.Range(0, config.NLayers)
            .Select(i => config.HasAttention(i)
                ? new LayerKvCache(batch, config.KvHeads(i), capacity, config.HeadDim, dtype, device)
                : null)
            .ToArray();
    }

    /// <summary>Positions filled so far; the next token goes at this position.</summary>
    public long Length { get; private set; }

    /// <summary>Most positions the cache can hold.</summary>
    public long Capacity { get; }

    /// <summary>How many layers hold a cache (layers without attention have none).</summary>
    public int AllocatedLayers => layers.Count(l => l is not null);

    /// <summary>Layer <paramref name="index"/>'s cache, or null when that layer has no attention.</summary>
    public LayerKvCache? Layer(int index) => layers[index];

    /// <summary>Marks <paramref name="count"/> more positions as filled (called once per model forward).</summary>
    internal void Advance(long count)
    {
        Length += count;
        foreach (var layer in layers)
            if (layer is not null) layer.Length = Length;
    }

    /// <summary>Forgets all positions (the buffers are reused).</summary>
    public void Reset() => Advance(-Length);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in layers) layer?.Dispose();
    }
}
