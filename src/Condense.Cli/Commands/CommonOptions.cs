using System.CommandLine;
using Condense.Core.Training;

namespace Condense.Cli.Commands;

/// <summary>Options shared by commands that produce results.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON object with the results on stdout (human output goes to stderr).",
    };

    /// <summary>--allow-config-change: resume a run folder whose checkpoint was written with other settings.</summary>
    public static Option<bool> AllowConfigChange() => new("--allow-config-change")
    {
        Description = "Resume even when the run folder's checkpoint was written with other settings (they are listed); without it such a resume is refused.",
    };

    public static Option<ProgressMode> Progress() => new("--progress")
    {
        Description = "auto (bar on a terminal, lines otherwise), bar, lines or none.",
        DefaultValueFactory = _ => ProgressMode.Auto,
    };

    /// <summary>--doc: write the result as a generated section of a Markdown file, its JSON beside it.</summary>
    public static Option<string?> Doc(string what = "the result tables") => new("--doc")
    {
        Description = $"Write {what} and the command into this Markdown file (between markers), the JSON beside it.",
    };

    /// <summary>--section: the generated section's name where one doc holds several (also names its JSON file).</summary>
    public static Option<string?> Section() => new("--section")
    {
        Description = "Name of the generated section in the --doc file (also the name of its JSON file beside it).",
    };

    /// <summary>The section name to write under: --section if given (letters, digits, '-', '_'), else the default.</summary>
    public static string SectionName(string? section, string fallback)
    {
        if (section is null) return fallback;
        if (section.Length == 0 || !section.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new Condense.Core.InputException($"--section '{section}': use letters, digits, '-' and '_' only");
        return section;
    }
}
