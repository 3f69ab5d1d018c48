using System.Text.Json;
using Spectre.Console;

namespace Condense.Cli;

/// <summary>
/// Where a command writes. With <c>--json</c> the one JSON result goes to stdout and all human output to
/// stderr, so scripts can read stdout as a single JSON object.
/// </summary>
public sealed class CliOutput
{
    /// <summary>The serializer options of <c>--json</c> results (the experiments' result JSON: snake_case, indented).</summary>
    public static readonly JsonSerializerOptions JsonOptions = Condense.Experiments.ResultJson.Options;

    /// <summary>Output for a command; <paramref name="json"/>: the caller asked for <c>--json</c>, so human output goes to stderr.</summary>
    public CliOutput(bool json)
    {
        Json = json;
        Human = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(json ? Console.Error : Console.Out),
        });
    }

    /// <summary>True when the caller asked for a JSON result on stdout.</summary>
    public bool Json { get; }

    /// <summary>Console for tables, progress and messages meant for people.</summary>
    public IAnsiConsole Human { get; }

    /// <summary>Writes the command's result object to stdout when <c>--json</c> was given.</summary>
    public void Result(object result)
    {
        if (!Json) return;
        Console.Out.WriteLine(JsonSerializer.Serialize(result, result.GetType(), JsonOptions));
        Console.Out.Flush();
    }

    /// <summary>One-line error on stderr.</summary>
    public static void Error(string message) => Console.Error.WriteLine($"error: {message}");
}
