using System.Text;
using Condense.Core;
using Condense.Language.Tokenizers;

namespace Condense.Language.Tests.Tokenizers;

public sealed class Llama2cTokenizerTests
{
    [Fact]
    public void Encodes_with_bos_and_dummy_prefix_and_decodes_back()
    {
        var tok = SharedModels.Tok512;
        var ids = tok.Encode("Once upon a time", bos: true);
        Assert.Equal(Llama2cTokenizer.Bos, ids[0]);
        Assert.True(ids.Length < 10, $"expected merges, got {ids.Length} tokens");
        Assert.Equal(" Once", Encoding.Latin1.GetString(tok.PieceBytes(ids[1])));
        Assert.Equal("Once upon a time", tok.Decode(ids));
        Assert.Equal(Llama2cTokenizer.Eos, tok.Encode("Hi", bos: false, eos: true)[^1]);
        Assert.Equal([Llama2cTokenizer.Bos], tok.Encode("", bos: true));
    }

    [Fact]
    public void Unknown_characters_fall_back_to_bytes_and_decode_exactly()
    {
        var tok = SharedModels.Tok512;
        const string text = "Tom said: \"€5 for the 猫?\"\nYes.";
        var ids = tok.Encode(text, bos: true);
        foreach (var b in Encoding.UTF8.GetBytes("猫"))
            Assert.Contains(b + 3, ids);
        Assert.Equal(text, tok.Decode(ids));
    }

    [Fact]
    public void Priority_queue_merges_equal_run_c_rescanning_merges()
    {
        var tok = SharedModels.Tok512;
        var text = File.ReadAllText(SharedModels.ValidTextPath);
        for (int start = 0; start < 20_000; start += 2_500)
        {
            var piece = text.Substring(start, 400);
            Assert.Equal(NaiveEncode(tok, piece), tok.Encode(piece, bos: true));
        }
    }

    [Fact]
    public void Vocabulary_size_must_match_the_file()
    {
        var small = Assert.Throws<InputException>(() => Llama2cTokenizer.Load(SharedModels.Tok512Path, 500));
        Assert.Contains("larger vocabulary", small.Message, StringComparison.Ordinal);
        Assert.Contains(SharedModels.Tok512Path, small.Message, StringComparison.Ordinal);
        var large = Assert.Throws<InputException>(() => Llama2cTokenizer.Load(SharedModels.Tok512Path, 32000));
        Assert.Contains("32000", large.Message, StringComparison.Ordinal);
    }

    /// <summary>run.c's merge loop as written: rescan every pair, merge the best (first on ties).</summary>
    private static int[] NaiveEncode(Llama2cTokenizer tok, string text)
    {
        // Start from the un-merged tokens: encode each code point alone (no merges can happen inside one).
        var pieceOf = Enumerable.Range(0, tok.VocabSize).ToDictionary(i => i, i => Encoding.Latin1.GetString(tok.PieceBytes(i)));
        var idOf = new Dictionary<string, int>();
        foreach (var (id, p) in pieceOf) idOf.TryAdd(p, id);
        var tokens = new List<int> { Llama2cTokenizer.Bos, idOf[" "] };
        foreach (var rune in text.EnumerateRunes())
        {
            var bytes = Encoding.UTF8.GetBytes(rune.ToString());
            if (idOf.TryGetValue(Encoding.Latin1.GetString(bytes), out var id)) tokens.Add(id);
            else tokens.AddRange(bytes.Select(b => b + 3));
        }
        while (true)
        {
            float best = -1e10f;
            int bestIdx = -1, bestId = -1;
            for (int i = 0; i < tokens.Count - 1; i++)
            {
                if (idOf.TryGetValue(pieceOf[tokens[i]] + pieceOf[tokens[i + 1]], out var id) && tok.Score(id) > best)
                    (best, bestIdx, bestId) = (tok.Score(id), i, id);
            }
            if (bestIdx < 0) break;
            tokens[bestIdx] = bestId;
            tokens.RemoveAt(bestIdx + 1);
        }
        return tokens.ToArray();
    }
}
