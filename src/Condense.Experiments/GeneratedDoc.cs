using Condense.Core.IO;
using Condense.Core.Reports;

namespace Condense.Experiments;

/// <summary>
/// A results doc section written by the command that produced it: the command line, then the generated Markdown,
/// between the section's markers (hand-written reading notes around them are kept), and the command's raw JSON
/// result beside the doc (docs/results/NAME.md → docs/results/NAME.json, or SECTION.json where one doc holds several
/// generated sections) so a reviewer can rerun and diff.
/// </summary>
public static class GeneratedDoc
{
    /// <summary>
    /// The command as typed, e.g. "./condense study agglomeration --seeds 3", with every argument that a POSIX shell would
    /// split or expand single-quoted, so the echoed line can be pasted back into a shell.
    /// </summary>
    public static string CommandLine() => "./condense " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(ShellQuote));

    /// <summary>An argument as a POSIX shell reads it back: as it is when plain, otherwise in single quotes.</summary>
    public static string ShellQuote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=,:+@%".Contains(c, StringComparison.Ordinal)))
            return argument;
        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// Writes <paramref name="markdown"/> under the command line into section <paramref name="section"/> of
    /// <paramref name="docPath"/>, and <paramref name="json"/> beside the doc: its name with .json, or <paramref name="jsonName"/>.json when given.
    /// </summary>
    public static void Write(string docPath, string section, string markdown, object json, string? jsonName = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var dir = Path.GetDirectoryName(Path.GetFullPath(docPath))!;
        Directory.CreateDirectory(dir);
        MarkdownSection.Write(docPath, section, $"```\n{CommandLine()}\n```\n\n{markdown.TrimEnd('\n')}");
        WriteJson(jsonName is null ? Path.ChangeExtension(Path.GetFullPath(docPath), ".json") : Path.Combine(dir, jsonName + ".json"), json);
    }

    /// <summary>A benchmark section's raw JSON in results/NAME.json beside the doc (docs/benchmarks.md → docs/results/NAME.json).</summary>
    public static void WriteResultsJson(string docPath, string name, object json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var jsonPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(docPath))!, "results", name + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(jsonPath)!);
        WriteJson(jsonPath, json);
    }

    private static void WriteJson(string path, object json) => AtomicFile.WriteAllText(path, ResultJson.Serialize(json) + "\n");
}
