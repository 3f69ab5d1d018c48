// A Markdown document assembled from blocks (headings, paragraphs, tables, images, code) and saved atomically.
using System.Text;
using Condense.Core.IO;

namespace Condense.Core.Reports;

/// <summary>
/// An experiment report in Markdown. Blocks are separated by blank lines; every method returns the report so
/// calls chain. Image paths are relative to the report's folder, so the report and its PNGs move together.
/// </summary>
public sealed class MarkdownReport
{
    private readonly List<string> _blocks = [];

    /// <summary>A heading of <paramref name="level"/> 1 to 6; line breaks in the text become spaces.</summary>
    public MarkdownReport Heading(int level, string text)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 6);
        return Add($"{new string('#', level)} {OneLine(text)}");
    }

    /// <summary>A paragraph, as given (trailing whitespace trimmed).</summary>
    public MarkdownReport Paragraph(string text) => Add(text.TrimEnd());

    /// <summary>A table.</summary>
    public MarkdownReport Table(MarkdownTable table) => Add(table.ToString().TrimEnd('\n'));

    /// <summary>An image; spaces in the path are percent-encoded so the link stays one token.</summary>
    public MarkdownReport Image(string alt, string relativePath)
    {
        var escapedAlt = OneLine(alt).Replace("[", "\\[", StringComparison.Ordinal)
            .Replace("]", "\\]", StringComparison.Ordinal);
        var target = relativePath.Replace('\\', '/').Replace(" ", "%20", StringComparison.Ordinal)
            .Replace("(", "%28", StringComparison.Ordinal).Replace(")", "%29", StringComparison.Ordinal);
        return Add($"![{escapedAlt}]({target})");
    }

    /// <summary>A fenced code block; the fence grows past any run of backticks inside the text.</summary>
    public MarkdownReport CodeBlock(string lang, string text)
    {
        var longestRun = 0;
        var run = 0;
        foreach (var c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longestRun = Math.Max(longestRun, run);
        }
        var fence = new string('`', Math.Max(3, longestRun + 1));
        return Add($"{fence}{lang}\n{text.TrimEnd('\n')}\n{fence}");
    }

    /// <summary>Writes the report to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToString());

    /// <summary>The report as Markdown text, one blank line between blocks.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var block in _blocks)
        {
            if (text.Length > 0) text.Append('\n');
            text.Append(block).Append('\n');
        }
        return text.ToString();
    }

    private MarkdownReport Add(string block)
    {
        _blocks.Add(block);
        return this;
    }

    private static string OneLine(string text) =>
        text.ReplaceLineEndings(" ").Trim();
}
