// Document splitting and strict UTF-8 on the two TinyStories files.
using System.Text;
using Condense.Core.Data;
using Condense.Testing;

namespace Condense.Core.Tests.Data;

public class TextCorpusTests
{
    private static readonly string Train = SharedAssets.TrainTextPath;
    private static readonly string Valid = SharedAssets.ValidTextPath;

    [Fact]
    public void Train_part_a_splits_into_1158_stories_on_endoftext()
    {
        var docs = TextCorpus.ReadDocuments(Train);

        Assert.Equal(1158, docs.Count);
        Assert.StartsWith("One day, a little girl named Lily found a needle in her room.", docs[0],
            StringComparison.Ordinal);
        Assert.EndsWith("That's why I love being an ordinary barber.\"", docs[^1], StringComparison.Ordinal);
        Assert.DoesNotContain(docs, d => d.Contains(TextCorpus.EndOfText, StringComparison.Ordinal));
        // Blank lines between paragraphs stay inside a story.
        Assert.Contains(docs, d => d.Contains("\n\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Valid_file_without_separators_splits_on_blank_lines()
    {
        var docs = TextCorpus.ReadDocuments(Valid);

        // 4300 blocks between empty lines, plus two splits at lines holding a single space.
        Assert.Equal(4302, docs.Count);
        Assert.StartsWith("Spot. Spot saw the shiny car", docs[0], StringComparison.Ordinal);
        // Line 6285 holds a single space between "When Max woke up ..." and "The end.": that splits too.
        var max = docs.ToList().FindIndex(d => d.StartsWith("When Max woke up a few", StringComparison.Ordinal));
        Assert.DoesNotContain("The end.", docs[max], StringComparison.Ordinal);
        Assert.Equal("The end.", docs[max + 1]);
        Assert.DoesNotContain(docs, d => d.Contains("\n\n", StringComparison.Ordinal) || d != d.Trim());
        // The dataset's own mojibake is valid UTF-8 and survives unchanged.
        Assert.Contains(docs, d => d.Contains("â€™", StringComparison.Ordinal));
    }

    [Fact]
    public void Crlf_line_ends_split_the_same_way()
    {
        using var tmp = new TempFolder();
        var text = TextCorpus.ReadText(Train);
        var path = tmp.Write("crlf.txt", Encoding.UTF8.GetBytes(text.Replace("\n", "\r\n", StringComparison.Ordinal)));

        Assert.Equal(TextCorpus.ReadDocuments(Train), TextCorpus.ReadDocuments(path));
    }

    [Fact]
    public void Invalid_utf8_names_file_and_byte_offset()
    {
        using var tmp = new TempFolder();
        var bytes = File.ReadAllBytes(Train)[..5000];
        bytes[1234] = 0xFF;
        var path = tmp.Write("bad.txt", bytes);

        Expect.BadInput(path, "invalid UTF-8 at byte offset 1234", () => TextCorpus.ReadDocuments(path));
    }

    [Fact]
    public void Truncated_multibyte_sequence_at_end_is_invalid()
    {
        using var tmp = new TempFolder();
        // "â" is C3 A2 in UTF-8; keep only its first byte, as a file cut mid-character would.
        var bytes = Encoding.UTF8.GetBytes("Once upon a time â")[..^1];
        var path = tmp.Write("cut.txt", bytes);

        Expect.BadInput(path, $"invalid UTF-8 at byte offset {bytes.Length - 1}", () => TextCorpus.ReadText(path));
    }

    [Fact]
    public void Missing_file_is_bad_input()
    {
        using var tmp = new TempFolder();

        Expect.BadInput(tmp.File("none.txt"), "file not found", () => TextCorpus.ReadDocuments(tmp.File("none.txt")));
    }
}
