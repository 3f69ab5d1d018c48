// Plain-text corpora split into documents. Two layouts occur in TinyStories dumps:
//  * documents separated by lines that are exactly "<|endoftext|>" (train_partA.txt; stories there contain
//    blank lines between paragraphs, so blank lines must NOT split);
//  * no separator line at all (valid_first794KB.txt): we split on blank (empty or whitespace-only) lines. In
//    that file stories and paragraphs are both separated by blank lines, so each "document" is a paragraph,
//    not a story: fine for perplexity over a token stream, not for per-story statistics.
// Decoding is strict UTF-8: an invalid byte fails with its offset instead of silently becoming U+FFFD (the
// dataset's own mojibake such as "â€™" is valid UTF-8 and passes through unchanged).
using System.Buffers;
using System.Text.Unicode;

namespace Condense.Core.Data;

/// <summary>Readers for UTF-8 plain-text corpora (TinyStories dumps), as documents or as one string.</summary>
public static class TextCorpus
{
    /// <summary>The line that separates documents in corpora that use one (TinyStories' train file).</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The non-empty documents of the file, trimmed, with "\n" line ends inside.</summary>
    public static IReadOnlyList<string> ReadDocuments(string path)
    {
        var lines = ReadText(path).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var bySeparator = lines.Any(l => l == EndOfText);
        var documents = new List<string>();
        var current = new List<string>();
        foreach (var line in lines)
        {
            var boundary = bySeparator ? line == EndOfText : string.IsNullOrWhiteSpace(line);
            if (boundary) Flush(current, documents);
            else current.Add(line);
        }
        Flush(current, documents);
        return documents;
    }

    /// <summary>The whole file as a string, strictly decoded (a leading UTF-8 BOM is skipped).</summary>
    public static string ReadText(string path)
    {
        var bytes = DataFile.ReadBytes(path);
        var start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        var chars = new char[bytes.Length - start];
        var status = Utf8.ToUtf16(bytes.AsSpan(start), chars, out var read, out var written,
            replaceInvalidSequences: false, isFinalBlock: true);
        if (status != OperationStatus.Done)
            throw new InputException($"{path}: invalid UTF-8 at byte offset {start + read}");
        return new string(chars, 0, written);
    }

    private static void Flush(List<string> lines, List<string> documents)
    {
        var text = string.Join('\n', lines).Trim();
        if (text.Length > 0) documents.Add(text);
        lines.Clear();
    }
}
