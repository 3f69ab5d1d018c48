using Condense.Core.IO;

namespace Condense.Core.Reports;

/// <summary>
/// Generated sections inside hand-written Markdown (docs/benchmarks.md): a section lives between
/// <c>&lt;!-- NAME:begin --&gt;</c> and <c>&lt;!-- NAME:end --&gt;</c> markers and is replaced on rewrite;
/// everything around it is kept. A file without the markers gets the section appended.
/// </summary>
public static class MarkdownSection
{
    /// <summary>
    /// Puts <paramref name="content"/> in the section <paramref name="name"/> of the file at <paramref name="path"/>,
    /// replacing the old section or appending one; a missing file is created with a "# Benchmarks" title.
    /// </summary>
    public static void Write(string path, string name, string content)
    {
        string begin = $"<!-- {name}:begin -->", end = $"<!-- {name}:end -->";
        var block = $"{begin}\n{content.TrimEnd('\n')}\n{end}";
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n";
        int b = text.IndexOf(begin, StringComparison.Ordinal);
        int e = text.IndexOf(end, StringComparison.Ordinal);
        text = b >= 0 && e > b
            ? text[..b] + block + text[(e + end.Length)..]
            : text.TrimEnd('\n') + "\n\n" + block + "\n";
        AtomicFile.WriteAllText(path, text);
    }
}
