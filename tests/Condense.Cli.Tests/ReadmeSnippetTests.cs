using System.Diagnostics;
using System.Text.RegularExpressions;
using Condense.Core.IO;

namespace Condense.Cli.Tests;

/// <summary>
/// The README's "Using the library" snippet is real code: the test builds it as a console program against the
/// repository's projects and runs it on the Fashion-MNIST training files (with a few steps instead of the snippet's
/// MaxSteps, so the test stays short).
/// </summary>
public sealed partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"## Using the library\s+```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Snippet();

    [GeneratedRegex(@"MaxSteps = \d+")]
    private static partial Regex MaxSteps();

    [Fact]
    public void The_library_snippet_compiles_and_trains()
    {
        var match = Snippet().Match(File.ReadAllText(Path.Combine(Root, "README.md")));
        Assert.True(match.Success, "README.md has no csharp block under '## Using the library'");
        var code = MaxSteps().Replace(match.Groups["code"].Value, "MaxSteps = 3");
        Assert.Contains("MaxSteps = 3", code, StringComparison.Ordinal);
        // the snippet reads the training files from the working folder
        var (dir, work, run) = BuildAndRun("readme-snippet", code, ["Condense.Core", "Condense.Vision"], data =>
        {
            foreach (var f in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" })
                File.Copy(Path.Combine(AssetPaths.FashionMnistDir(), f), Path.Combine(data, f));
        });
        Assert.True(File.Exists(Path.Combine(work, "runs", "demo", "metrics.jsonl")), run.Output);
        Directory.Delete(dir, recursive: true);
    }

    [GeneratedRegex(@"Hyperparameter search from any \.NET training loop.*?```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SearchSnippet();

    [Fact]
    public void The_search_snippet_compiles_and_finishes_its_study()
    {
        var match = SearchSnippet().Match(File.ReadAllText(Path.Combine(Root, "README.md")));
        Assert.True(match.Success, "README.md has no search snippet");
        var (dir, work, run) = BuildAndRun("readme-search-snippet", match.Groups["code"].Value, ["Condense.Search"], _ => { });
        Assert.Contains("TrialSummary", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(work, "runs", "search-demo", "study.db")));
        Directory.Delete(dir, recursive: true);
    }

    [GeneratedRegex(@"## A compressed LLaMA in llama\.cpp \(GGUF\).*?```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex GgufSnippet();

    [Fact]
    public void The_gguf_snippet_runs_in_llama_cpp_and_prints_condense_greedy_text()
    {
        var match = GgufSnippet().Match(File.ReadAllText(Path.Combine(Root, "README.md")));
        Assert.True(match.Success, "README.md has no GGUF snippet");
        var generate = CliProcess.Run("generate", "--prompt", "Once upon a time", "--steps", "100", "--json");
        Assert.True(generate.ExitCode == 0, generate.Stderr);
        var expected = generate.Json().GetProperty("text").GetString()!;
        var (dir, _, run) = BuildAndRun("readme-gguf-snippet", match.Groups["code"].Value, [], work =>
        {
            var export = CliProcess.Run("export", AssetPaths.Require("models/llama2c/stories260K.bin"), "--format", "gguf", "--out", Path.Combine(work, "s.gguf"));
            Assert.True(export.ExitCode == 0, export.Stderr);
        }, packages: ["LLamaSharp"], usesLlamaCpp: true);
        // llama.cpp's own log goes to stderr after the text; the text is the first line of stdout.
        Assert.StartsWith(expected.Trim(), run.Output.TrimStart(), StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    private static string Root => AssetPaths.RepositoryRoot() ?? throw new InvalidOperationException("repository root not found");

    // Builds the snippet as a console program against the named projects, inside artifacts/ so the repository's build
    // settings (warnings as errors, the TorchSharp loading fix) apply, and runs it in a fresh working folder.
    private static (string Dir, string WorkDir, (int ExitCode, string Output) Run) BuildAndRun(string name, string code, string[] projects,
        Action<string> prepareWorkDir, string[]? packages = null, bool usesLlamaCpp = false)
    {
        var dir = Path.Combine(Root, "artifacts", name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), code);
        var references = string.Concat(projects.Select(p => $"""<ProjectReference Include="{Path.Combine(Root, "src", p, p + ".csproj")}" />"""))
            + string.Concat((packages ?? []).Select(p => $"""<PackageReference Include="{p}" />"""));
        File.WriteAllText(Path.Combine(dir, "Snippet.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><IsPackable>false</IsPackable><UsesLlamaCpp>{(usesLlamaCpp ? "true" : "false")}</UsesLlamaCpp></PropertyGroup>
              <ItemGroup>{references}</ItemGroup>
            </Project>
            """);
        var build = Run("dotnet", ["build", dir, "-c", "Release", "-o", Path.Combine(dir, "out"), "--nologo", "-v", "q"], Root);
        Assert.True(build.ExitCode == 0, $"the README snippet {name} does not build:\n" + build.Output);
        var work = Path.Combine(dir, "run");
        Directory.CreateDirectory(work);
        prepareWorkDir(work);
        var run = Run("dotnet", [Path.Combine(dir, "out", "Snippet.dll")], work);
        Assert.True(run.ExitCode == 0, $"the README snippet {name} fails when run:\n" + run.Output);
        return (dir, work, run);
    }

    private static (int ExitCode, string Output) Run(string file, string[] args, string workingDirectory)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
