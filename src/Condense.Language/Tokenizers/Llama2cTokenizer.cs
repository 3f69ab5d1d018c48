// The llama2.c tokenizer (karpathy/llama2.c run.c: build_tokenizer, encode, decode; tokenizer.py export): a
// sentencepiece BPE vocabulary flattened to pieces with scores. Encoding splits UTF-8 text into code points
// (unknown ones fall back to byte tokens <0xXX> = id byte + 3), prepends the dummy-prefix piece " ", then
// repeatedly merges the adjacent pair whose concatenation is the highest-scoring piece (leftmost on ties).
//
// File format: int32 max_token_length, then per token: float32 score, int32 byte length, the bytes.
//
// Deviations: run.c rescans all pairs after every merge (quadratic); here a priority queue ordered by
// (score desc, position asc) picks the same pair each step, so the output is the same. decode does not apply
// run.c's safe_printf filter (which drops unprintable single bytes when printing).
using System.Text;
using Condense.Core;

namespace Condense.Language.Tokenizers;

/// <summary>A llama2.c tokenizer (tok512.bin, tokenizer.bin): score-based BPE with byte fallback.</summary>
public sealed class Llama2cTokenizer
{
    /// <summary>Beginning-of-sequence id.</summary>
    public const int Bos = 1;

    /// <summary>End-of-sequence id.</summary>
    public const int Eos = 2;

    // Pieces as Latin-1 strings: one char per byte, so concatenation and hashing work on raw bytes.
    private readonly string[] pieces;
    private readonly float[] scores;
    private readonly Dictionary<string, int> lookup;
    private readonly int?[] pieceByte;
    private readonly int dummyPrefix;

    private Llama2cTokenizer(string[] pieces, float[] scores, int maxTokenLength, string path)
    {
        this.pieces = pieces;
        this.scores = scores;
        MaxTokenLength = maxTokenLength;
        lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        // run.c binary-searches a sorted copy; duplicates do not occur in real files, the first id wins here.
        for (int i = 0; i < pieces.Length; i++) lookup.TryAdd(pieces[i], i);
        pieceByte = pieces.Select(ParseBytePiece).ToArray();
        dummyPrefix = lookup.TryGetValue(" ", out var id) ? id
            : throw new InputException($"{path}: tokenizer has no \" \" piece (needed as the dummy prefix)");
    }

    /// <summary>Number of tokens.</summary>
    public int VocabSize => pieces.Length;

    /// <summary>Longest piece in bytes, as stored in the file.</summary>
    public int MaxTokenLength { get; }

    /// <summary>
    /// Reads a tokenizer file holding exactly <paramref name="vocabSize"/> tokens (the model's vocabulary,
    /// which the file does not store); a file with fewer or more tokens is rejected.
    /// </summary>
    public static Llama2cTokenizer Load(string path, int vocabSize)
    {
        if (Directory.Exists(path))
            throw new InputException($"{path}: is a folder, not a llama2.c tokenizer file (such as tok512.bin)");
        byte[] data;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            // Each piece is at most max_token_length (< 2^16) bytes plus 8: anything longer is not a tokenizer.
            long limit = 4 + (long)vocabSize * (8 + (1 << 16));
            if (stream.Length > limit)
                throw new InputException($"{path}: {stream.Length} bytes, too long for a llama2.c tokenizer of {vocabSize} pieces");
            data = new byte[stream.Length];
            stream.ReadExactly(data);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException($"{path}: tokenizer file not found", ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new InputException($"{path}: cannot read the tokenizer ({ex.Message})", ex);
        }
        var reader = new BinaryReader(new MemoryStream(data));
        if (data.Length < 4) throw new InputException($"{path}: {data.Length} bytes, not a llama2.c tokenizer");
        int maxLen = reader.ReadInt32();
        if (maxLen <= 0 || maxLen > 1 << 16)
            throw new InputException($"{path}: max_token_length {maxLen} is not plausible; not a llama2.c tokenizer");
        var pieces = new string[vocabSize];
        var scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            if (data.Length - reader.BaseStream.Position < 8)
                throw new InputException($"{path}: tokenizer ends after {i} tokens, the model's vocabulary has {vocabSize}");
            scores[i] = reader.ReadSingle();
            int len = reader.ReadInt32();
            if (len < 0 || len > maxLen || data.Length - reader.BaseStream.Position < len)
                throw new InputException($"{path}: token {i} has byte length {len} (max_token_length {maxLen}, " +
                    $"{data.Length - reader.BaseStream.Position} bytes left); the tokenizer is corrupt or does not match the model's vocabulary {vocabSize}");
            pieces[i] = Encoding.Latin1.GetString(reader.ReadBytes(len));
        }
        if (reader.BaseStream.Position != data.Length)
            throw new InputException($"{path}: tokenizer has {data.Length - reader.BaseStream.Position} bytes " +
                $"after the model's {vocabSize} tokens; it was made for a larger vocabulary");
        return new Llama2cTokenizer(pieces, scores, maxLen, path);
    }

    /// <summary>The piece of <paramref name="id"/> as raw bytes (byte tokens read "&lt;0x0A&gt;" here).</summary>
    public byte[] PieceBytes(int id) => Encoding.Latin1.GetBytes(pieces[id]);

    /// <summary>The score of <paramref name="id"/>.</summary>
    public float Score(int id) => scores[id];

    /// <summary>Token ids of <paramref name="text"/> as run.c's encode(text, bos, eos) produces them.</summary>
    public int[] Encode(string text, bool bos = true, bool eos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new List<int>(bytes.Length + 3);
        if (bos) tokens.Add(Bos);
        if (bytes.Length > 0) tokens.Add(dummyPrefix);
        // One code point at a time (a lead byte and at most 3 continuation bytes), byte tokens when unknown.
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] & 0xC0) != 0x80) start = i;
            int len = i - start + 1;
            bool continues = i + 1 < bytes.Length && (bytes[i + 1] & 0xC0) == 0x80;
            if (continues && len < 4) continue;
            var piece = Encoding.Latin1.GetString(bytes, start, len);
            if (lookup.TryGetValue(piece, out var id)) tokens.Add(id);
            else
            {
                for (int b = start; b <= i; b++) tokens.Add(bytes[b] + 3);
            }
            start = i + 1;
        }
        var merged = Merge(tokens);
        if (eos) merged.Add(Eos);
        return merged.ToArray();
    }

    /// <summary>
    /// Text of <paramref name="tokens"/>: pieces concatenated as bytes and read as UTF-8, byte tokens as their
    /// byte, BOS/EOS as nothing, and the leading space of a piece right after BOS dropped (run.c's decode).
    /// </summary>
    public string Decode(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        for (int i = 0; i < tokens.Count; i++)
            bytes.AddRange(DecodePiece(i > 0 ? tokens[i - 1] : -1, tokens[i]));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The bytes run.c's decode(prev, token) prints for <paramref name="token"/>.</summary>
    public byte[] DecodePiece(int prev, int token)
    {
        if ((uint)token >= (uint)pieces.Length)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token outside the vocabulary of {pieces.Length}");
        if (token is Bos or Eos) return [];
        if (pieceByte[token] is int b) return [(byte)b];
        var piece = pieces[token];
        if (prev == Bos && piece.StartsWith(' ')) piece = piece[1..];
        return Encoding.Latin1.GetBytes(piece);
    }

    private List<int> Merge(List<int> tokens)
    {
        int n = tokens.Count;
        var tok = tokens.ToArray();
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }
        // Highest score first, then the leftmost pair, exactly run.c's choice among all current pairs.
        var queue = new PriorityQueue<(int Left, int LeftTok, int RightTok, int Merged), (float Score, int Left)>(
            Comparer<(float Score, int Left)>.Create((a, b) =>
                a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void Consider(int left)
        {
            if (left < 0 || next[left] < 0) return;
            int right = next[left];
            if (lookup.TryGetValue(pieces[tok[left]] + pieces[tok[right]], out var id) && scores[id] > -1e10f)
                queue.Enqueue((left, tok[left], tok[right], id), (scores[id], left));
        }
        for (int i = 0; i < n - 1; i++) Consider(i);
        while (queue.TryDequeue(out var m, out _))
        {
            int right = next[m.Left];
            if (!alive[m.Left] || right < 0 || tok[m.Left] != m.LeftTok || tok[right] != m.RightTok) continue;
            tok[m.Left] = m.Merged;
            alive[right] = false;
            next[m.Left] = next[right];
            if (next[right] >= 0) prev[next[right]] = m.Left;
            Consider(prev[m.Left]);
            Consider(m.Left);
        }
        var result = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (alive[i]) result.Add(tok[i]);
        return result;
    }

    /// <summary>The byte of a "&lt;0xXX&gt;" piece, else null.</summary>
    private static int? ParseBytePiece(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && int.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b)
            ? b : null;
}
