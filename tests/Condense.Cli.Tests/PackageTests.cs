using System.Diagnostics;
using System.IO.Compression;
using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Cli.Tests;

/// <summary>
/// The install paths a .NET user takes: the `condense` tool package, installed into an empty tool path and run from
/// an empty folder with no shared folder; and the library packages, each with its XML docs, the README and licence,
/// and (Condense.Core) the TorchSharp fix as build targets. Packs the Release build the test run already made.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-pack-");

    // A version of its own per test run: NuGet caches packages by id and version, and a cached 0.1.0 from an earlier
    // build would otherwise be installed instead of the one just packed.
    private readonly string _version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public void Dispose()
    {
        _temp.Dispose();
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "condense", "condense.core", "condense.vision", "condense.language", "condense.search", "condense.search.cluster", "condense.experiments" })
        {
            var dir = Path.Combine(cache, id, _version);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static string Repo => AssetPaths.RepositoryRoot() ?? throw new InvalidOperationException("tests run inside the checkout");

    private static (int ExitCode, string Output) Run(string file, string? workingDirectory, IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 10 minutes");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static readonly Dictionary<string, string?> NoEnv = [];

    private string Pack(string project)
    {
        var output = Path.Combine(_temp.Path, "packages");
        var (code, log) = Run("dotnet", Repo, NoEnv, "pack", Path.Combine(Repo, "src", project, project + ".csproj"), "-c", "Release",
            "--no-build", "-o", output, "--nologo", $"-p:PackageVersion={_version}");
        Assert.True(code == 0, log);
        return output;
    }

    [Fact]
    public void The_tool_package_installs_and_runs_doctor_and_generate_from_an_empty_folder()
    {
        var feed = Pack("Condense.Cli");
        var nupkg = Assert.Single(Directory.GetFiles(feed, "condense.*.nupkg"));
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var names = zip.Entries.Select(e => e.FullName).ToHashSet();
            foreach (var a in AssetCatalog.All.Where(a => a.Provider == AssetProvider.Shipped))
                Assert.Contains($"tools/net10.0/any/assets/{a.RelativePath}", names);
            Assert.Contains("README.md", names);
        }

        // Only the local feed: installing must not need any other source.
        var config = Path.Combine(_temp.Path, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>
            """);
        var tools = Path.Combine(_temp.Path, "tools");
        var (installed, installLog) = Run("dotnet", _temp.Path, NoEnv, "tool", "install", "condense", "--version", _version, "--tool-path", tools, "--configfile", config);
        Assert.True(installed == 0, installLog);

        var empty = Path.Combine(_temp.Path, "empty");
        Directory.CreateDirectory(empty);
        var env = new Dictionary<string, string?>
        {
            ["CONDENSE_SHARED"] = Path.Combine(_temp.Path, "no-such-shared-folder"),
            ["CONDENSE_ROOT"] = null,
            ["OMP_NUM_THREADS"] = "1",
        };
        var condense = Path.Combine(tools, "condense");
        var (doctor, doctorOut) = Run(condense, empty, env, "doctor", "--json");
        Assert.True(doctor == 0, doctorOut);
        Assert.Contains("\"torchsharp_loaded\": true", doctorOut, StringComparison.Ordinal);
        var (gen, genOut) = Run(condense, empty, env, "generate", "--prompt", "Once upon a time", "--steps", "12");
        Assert.True(gen == 0, genOut);
        Assert.Contains("Once upon a time", genOut, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        // The main job with its default teachers (ResNet8 shipped, ResNet18 from its NuGet package), made small.
        var (distill, distillOut) = Run(condense, empty, env, "distill", "--steps", "4", "--progress", "none",
            "--set", "data.train_images=64", "--set", "data.test_images=32", "--set", "train.batch_size=16",
            "--set", "student.depth=1", "--set", "student.embed_dim=32", "--set", "eval.probe_steps=5");
        Assert.True(distill == 0, distillOut);
        Assert.True(File.Exists(Path.Combine(empty, "runs", "distill-default", "report.md")), distillOut);
    }

    [Fact]
    public void The_libraries_pack_with_their_docs_and_a_project_taking_them_from_the_feed_runs_a_backbone()
    {
        string feed = "";
        foreach (var project in new[] { "Condense.Core", "Condense.Vision", "Condense.Language", "Condense.Search", "Condense.Search.Cluster", "Condense.Experts", "Condense.Experiments" })
        {
            feed = Pack(project);
            var nupkg = Assert.Single(Directory.GetFiles(feed, project + ".*.nupkg"));
            using var zip = ZipFile.OpenRead(nupkg);
            var names = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains($"lib/net10.0/{project}.dll", names);
            Assert.Contains($"lib/net10.0/{project}.xml", names);
            Assert.Contains("README.md", names);
            // Models that dependencies bring (the ResNet18 ONNX) are not copied into Condense's own packages.
            Assert.DoesNotContain(names, n => n.EndsWith(".onnx", StringComparison.Ordinal));
            if (project == "Condense.Core")
            {
                Assert.Contains("build/Condense.Core.targets", names);
                Assert.Contains("buildTransitive/Condense.Core.targets", names);
            }
            using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var text = nuspec.ReadToEnd();
            Assert.Contains("<license type=\"expression\">MIT</license>", text, StringComparison.Ordinal);
            Assert.Contains("<readme>README.md</readme>", text, StringComparison.Ordinal);
            Assert.Contains("<description>", text, StringComparison.Ordinal);
        }

        // A new project outside the checkout takes Condense.Vision from the feed; TorchSharp must load (the GLIBCXX
        // fix comes with Condense.Core's build targets) and a registered backbone must run.
        var consumer = Path.Combine(_temp.Path, "consumer");
        Directory.CreateDirectory(consumer);
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="{feed}" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources></configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup><PackageReference Include="Condense.Vision" Version="{_version}" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using var model = Condense.Vision.Models.ModelRegistry.Create("eradio_micro");
            using var images = TorchSharp.torch.zeros(1, 3, 64, 64);
            var output = model.ForwardBackbone(images);
            Console.WriteLine($"features {string.Join('x', output.Features.shape)}");
            """);
        var env = new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = "1" };
        var (code, log) = Run("dotnet", consumer, env, "run", "-c", "Release");
        Assert.True(code == 0, log);
        Assert.Contains("features 1x128x4x4", log, StringComparison.Ordinal);
    }
}
