// The VLM's tokenizer: a word-level vocabulary trained (collected) on the generated corpus: every question, answer,
// expert text and model card the data generator can write. Pre-tokens: trigger openers "<NAME(", closers ")>",
// AAL name pieces ("Frontal", "_Sup", "_Orb", "_L"), words, single digits (numbers are spelled digit by digit) and
// punctuation. Splitting AAL names into pieces lets the model spell a held-out region it only ever read.
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Condense.Core;
using Condense.Core.IO;

namespace Condense.Experts.Text;

/// <summary>A word-level tokenizer with fixed special tokens.</summary>
public sealed partial class WordTokenizer
{
    /// <summary>Padding (ignored by the loss).</summary>
    public const int Pad = 0;
    /// <summary>Beginning of a sequence.</summary>
    public const int Bos = 1;
    /// <summary>End of a turn.</summary>
    public const int Eos = 2;
    /// <summary>A word outside the vocabulary.</summary>
    public const int Unk = 3;
    /// <summary>One image token slot (an image fills several consecutive slots).</summary>
    public const int Image = 4;

    private static readonly string[] Specials = ["<pad>", "<s>", "</s>", "<unk>", "<image>"];
    private readonly Dictionary<string, int> ids;

    /// <summary>A tokenizer over <paramref name="vocabulary"/> (the specials first, as in <see cref="Train"/>).</summary>
    public WordTokenizer(IReadOnlyList<string> vocabulary)
    {
        for (int s = 0; s < Specials.Length; s++)
            if (vocabulary.Count <= s || vocabulary[s] != Specials[s])
                throw new InputException($"tokenizer vocabulary entry {s} is '{(vocabulary.Count > s ? vocabulary[s] : "")}', expected '{Specials[s]}'");
        Vocabulary = vocabulary;
        ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++)
            if (!ids.TryAdd(vocabulary[i], i)) throw new InputException($"tokenizer vocabulary repeats '{vocabulary[i]}'");
    }

    /// <summary>Tokens by id.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Vocabulary size.</summary>
    public int Count => Vocabulary.Count;

    /// <summary>Collects every pre-token of <paramref name="corpus"/>, sorted (ordinal) after the specials.</summary>
    public static WordTokenizer Train(IEnumerable<string> corpus)
    {
        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (Match m in PreToken().Matches(text)) words.Add(m.Value);
        words.ExceptWith(Specials);
        return new WordTokenizer([.. Specials, .. words]);
    }

    /// <summary>Token ids of <paramref name="text"/> (unknown words become <see cref="Unk"/>).</summary>
    public List<int> Encode(string text)
    {
        var result = new List<int>();
        foreach (Match m in PreToken().Matches(text)) result.Add(ids.GetValueOrDefault(m.Value, Unk));
        return result;
    }

    /// <summary>The text of <paramref name="tokens"/>, spaced back as the generator writes it; specials are dropped.</summary>
    public string Decode(IEnumerable<int> tokens)
    {
        var sb = new StringBuilder();
        string? previous = null;
        foreach (int t in tokens)
        {
            if (t < Specials.Length && t != Unk) continue;
            string w = t >= 0 && t < Vocabulary.Count ? Vocabulary[t] : "<unk>";
            bool glue = previous is null || w.StartsWith('_') || w.StartsWith(")>", StringComparison.Ordinal)
                || (w.Length == 1 && ".,?:;!)".Contains(w[0])) || previous.EndsWith('(')
                || (char.IsDigit(w[0]) && char.IsDigit(previous[^1]) && w.Length == 1 && previous.Length == 1);
            if (!glue) sb.Append(' ');
            sb.Append(w);
            previous = w;
        }
        return sb.ToString();
    }

    /// <summary>Writes the vocabulary as a JSON array (atomically).</summary>
    public void Save(string path) =>
        AtomicFile.Write(path, s => JsonSerializer.Serialize(s, Vocabulary));

    /// <summary>Reads a vocabulary written by <see cref="Save"/>.</summary>
    public static WordTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: tokenizer vocabulary not found");
        try
        {
            var vocabulary = JsonSerializer.Deserialize<List<string>>(File.ReadAllText(path))
                ?? throw new InputException($"{path}: tokenizer vocabulary is null");
            return new WordTokenizer(vocabulary);
        }
        catch (JsonException e)
        {
            throw new InputException($"{path}: not a JSON array of strings ({e.Message})", e);
        }
    }

    [GeneratedRegex(@"<[A-Za-z][A-Za-z0-9_]*\(|\)>|<[a-z/]+>|_[A-Za-z0-9]+|[A-Za-z][A-Za-z0-9]*|[0-9]|[^\sA-Za-z0-9_]")]
    private static partial Regex PreToken();
}
