// Text to one token stream for calibration and evaluation: each document is encoded on its own with a leading
// BOS (as the TinyStories models were trained) and the documents are concatenated; every token also gets its
// dialogue/narrative label (DialogueLabels), computed per document so quote state never crosses documents.
using System.Text;
using Condense.Core.Data;
using Condense.Language.Tokenizers;

namespace Condense.Language.DepthPruning;

public static class TokenStream
{
    /// <summary>Token ids and labels of the documents of <paramref name="path"/>, up to about <paramref name="maxTokens"/>.</summary>
    public static (int[] Ids, sbyte[] Labels) FromFile(string path, Llama2cTokenizer tokenizer, long maxTokens = long.MaxValue) =>
        FromDocuments(TextCorpus.ReadDocuments(path), tokenizer, maxTokens);

    /// <summary>Token ids and labels of <paramref name="documents"/>, stopping once <paramref name="maxTokens"/> are reached.</summary>
    public static (int[] Ids, sbyte[] Labels) FromDocuments(IEnumerable<string> documents, Llama2cTokenizer tokenizer,
        long maxTokens = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        var labels = new List<sbyte>();
        foreach (var doc in documents)
        {
            if (ids.Count >= maxTokens) break;
            var tokens = tokenizer.Encode(doc, bos: true);
            ids.AddRange(tokens);
            labels.AddRange(Labels(tokenizer, tokens));
        }
        return (ids.ToArray(), labels.ToArray());
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
}
