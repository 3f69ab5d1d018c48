// The one calibration and evaluation text pipeline of sparsity and depth pruning: a text file's documents (split
// as TextCorpus does, optionally only those matching a filter), each encoded on its own with a leading BOS (as
// the TinyStories models were trained), concatenated into one token stream. Two ways to cut it:
// - RandomWindows: windows at random offsets, as SparseGPT, Wanda and MaskLLM sample C4; offsets are a pure
//   function of (seed, index), so a resumed MaskLLM run sees the same batches as an uninterrupted one;
// - the stream itself, with each token's dialogue/narrative label (DialogueLabels, computed per document so quote
//   state never crosses documents), which depth pruning cuts into consecutive windows (CalibrationSet.From).
using System.Text;
using System.Text.RegularExpressions;
using Condense.Core;
using Condense.Core.Data;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Language.Text;

/// <summary>A tokenized text: one stream of token ids (documents BOS-first, concatenated), with per-token labels when asked.</summary>
public sealed class TokenCorpus
{
    private readonly int[] _ids;
    private readonly sbyte[]? _labels;

    private TokenCorpus(int[] ids, sbyte[]? labels)
    {
        _ids = ids;
        _labels = labels;
    }

    /// <summary>Tokens in the stream.</summary>
    public long Count => _ids.Length;

    /// <summary>The token ids of the stream.</summary>
    public IReadOnlyList<int> Ids => _ids;

    /// <summary>One dialogue label per token, or null when the corpus was built without labels.</summary>
    public IReadOnlyList<sbyte>? TokenLabels => _labels;

    /// <summary>
    /// The documents of <paramref name="path"/> (those matching <paramref name="filter"/> when given), tokenized until
    /// about <paramref name="maxTokens"/>; with <paramref name="labels"/> every token also gets its dialogue label.
    /// </summary>
    public static TokenCorpus FromFile(string path, Llama2cTokenizer tokenizer, Regex? filter = null, long maxTokens = long.MaxValue,
        bool labels = false) =>
        FromDocuments(Documents(path, filter), tokenizer, maxTokens, labels);

    /// <summary>The documents of <paramref name="path"/> that match <paramref name="filter"/> (all without one).</summary>
    public static IReadOnlyList<string> Documents(string path, Regex? filter)
    {
        var docs = TextCorpus.ReadDocuments(path);
        if (filter is null) return docs;
        var kept = docs.Where(d => filter.IsMatch(d)).ToList();
        if (kept.Count == 0) throw new InputException($"{path}: no document matches the document filter '{filter}'");
        return kept;
    }

    /// <summary>Token ids (and labels) of <paramref name="documents"/>, stopping once <paramref name="maxTokens"/> are reached.</summary>
    public static TokenCorpus FromDocuments(IEnumerable<string> documents, Llama2cTokenizer tokenizer, long maxTokens = long.MaxValue,
        bool labels = false)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        var tokenLabels = labels ? new List<sbyte>() : null;
        foreach (var doc in documents)
        {
            if (ids.Count >= maxTokens) break;
            var tokens = tokenizer.Encode(doc, bos: true);
            ids.AddRange(tokens);
            tokenLabels?.AddRange(Labels(tokenizer, tokens));
        }
        return new TokenCorpus([.. ids], tokenLabels?.ToArray());
    }

    /// <summary>A stream of already tokenized documents (each starting with BOS), without labels.</summary>
    public static TokenCorpus FromTokens(IEnumerable<IReadOnlyList<int>> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return new TokenCorpus([.. documents.SelectMany(d => d)], null);
    }

    /// <summary>A stream of token ids with one label per token (tests, synthetic data).</summary>
    public static TokenCorpus FromStream(IReadOnlyList<int> ids, IReadOnlyList<sbyte> labels)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(labels);
        if (ids.Count != labels.Count) throw new ArgumentException("one label per token", nameof(labels));
        return new TokenCorpus([.. ids], [.. labels]);
    }

    /// <summary>Dialogue/narrative labels of one document's tokens, from the text each token prints.</summary>
    public static sbyte[] Labels(Llama2cTokenizer tokenizer, IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokens);
        // Latin-1 keeps one char per byte: quote marks and newlines are ASCII, so they are found wherever they are.
        var pieces = new string[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
            pieces[i] = Encoding.Latin1.GetString(tokenizer.DecodePiece(i > 0 ? tokens[i - 1] : -1, tokens[i]));
        return DialogueLabels.Label(pieces);
    }

    /// <summary>
    /// <paramref name="batch"/> windows of <paramref name="length"/> tokens as int64 (B, length) at random offsets;
    /// window i of the whole sequence is drawn from (<paramref name="seed"/>, <paramref name="first"/> + i) only.
    /// </summary>
    public Tensor RandomWindows(int batch, int length, long seed, long first = 0)
    {
        if (length > _ids.Length)
            throw new ArgumentException($"windows of {length} tokens need a longer text: it has {_ids.Length} tokens");
        var data = new long[batch * length];
        for (int b = 0; b < batch; b++)
        {
            var rng = new SplitMix64(new SplitMix64((ulong)seed ^ ((ulong)(first + b) * 0xD1B54A32D192ED03UL)).Next());
            int offset = rng.NextInt(_ids.Length - length + 1);
            for (int t = 0; t < length; t++) data[b * length + t] = _ids[offset + t];
        }
        return tensor(data, [batch, length]);
    }
}
