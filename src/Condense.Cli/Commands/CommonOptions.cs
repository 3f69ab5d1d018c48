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

    public static Option<ProgressMode> Progress() => new("--progress")
    {
        Description = "auto (bar on a terminal, lines otherwise), bar, lines or none.",
        DefaultValueFactory = _ => ProgressMode.Auto,
    };
}
