// Calibration and mask-training batches: the tokenized documents (each starting with BOS) are concatenated into
// one stream, and a sample is a window of consecutive tokens at a random offset, as SparseGPT, Wanda and MaskLLM
// sample C4 (random seqlen windows). Offsets are a pure function of (seed, index), so a resumed MaskLLM run sees
// the same batches as an uninterrupted one.
using Condense.Core.Data;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Random fixed-length windows over a concatenated token stream.</summary>
public sealed class TokenWindows
{
    private readonly int[] _stream;

    /// <param name="documents">Tokenized documents, each already starting with BOS.</param>
    public TokenWindows(IEnumerable<IReadOnlyList<int>> documents)
    {
        _stream = documents.SelectMany(d => d).ToArray();
    }

    /// <summary>Tokens in the stream.</summary>
    public long Count => _stream.Length;

    /// <summary>
    /// <paramref name="batch"/> windows of <paramref name="length"/> tokens as int64 (B, length); window i of the
    /// whole sequence is drawn from (<paramref name="seed"/>, <paramref name="first"/> + i) only.
    /// </summary>
    public Tensor Sample(int batch, int length, long seed, long first = 0)
    {
        if (length > _stream.Length)
            throw new ArgumentException($"windows of {length} tokens need a longer text: it has {_stream.Length} tokens");
        var data = new long[batch * length];
        for (int b = 0; b < batch; b++)
        {
            var rng = new SplitMix64(new SplitMix64((ulong)seed ^ ((ulong)(first + b) * 0xD1B54A32D192ED03UL)).Next());
            int offset = rng.NextInt(_stream.Length - length + 1);
            for (int t = 0; t < length; t++) data[b * length + t] = _stream[offset + t];
        }
        return tensor(data, [batch, length]);
    }
}
