using System.CommandLine;

namespace Condense.Cli.Commands;

/// <summary>Options shared by commands that produce results.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON object with the results on stdout (human output goes to stderr).",
    };
}
