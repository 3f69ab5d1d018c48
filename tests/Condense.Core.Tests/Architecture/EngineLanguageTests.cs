using System.Text.RegularExpressions;
using Condense.Core.IO;

namespace Condense.Core.Tests.Architecture;

/// <summary>
/// The engines speak in their own options, never in the CLI's flags (issue 12): a library user never typed
/// `--remove`, so no source file of Core, Vision or Language mentions a `--flag`; the CLI maps option names to flags.
/// </summary>
public sealed partial class EngineLanguageTests
{
    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]+")]
    private static partial Regex Flag();

    [Theory]
    [InlineData("Condense.Core")]
    [InlineData("Condense.Vision")]
    [InlineData("Condense.Language")]
    public void No_engine_source_file_mentions_a_command_line_flag(string project)
    {
        var dir = Path.Combine(AssetPaths.RepositoryRoot() ?? throw new InvalidOperationException("repository root not found"), "src", project);
        var hits = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => Flag().IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(dir, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, string.Join('\n', hits));
    }

    [Fact]
    public void An_option_error_names_the_option_and_can_be_renamed_by_the_caller()
    {
        var e = InputException.ForOption("CalibrationLength", "600 exceeds the model's sequence length 512");
        Assert.Equal("CalibrationLength 600 exceeds the model's sequence length 512", e.Message);
        Assert.Equal("--calibration-length 600 exceeds the model's sequence length 512", e.MessageWithOption("--calibration-length"));
        Assert.Equal("Arms: unknown arm 'x'", InputException.ForOption("Arms", ": unknown arm 'x'").Message);
        Assert.Equal("plain", new InputException("plain").MessageWithOption("--anything"));
    }
}
