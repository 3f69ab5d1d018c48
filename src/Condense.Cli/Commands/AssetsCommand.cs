using System.CommandLine;
using System.Globalization;
using Condense.Core.IO;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense assets</c>: every model and data set Condense knows, its public source, licence, size and sha256, and
/// where it was found on this machine (or how to get it). <c>condense assets verify</c> checks every copy's sha256 and
/// exits 1 when a copy differs or a shipped file is missing.
/// </summary>
internal static class AssetsCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("assets", "List every model and data set Condense knows: source, licence, size, sha256, and where it is on this machine.")
        {
            json,
        };
        cmd.SetAction(pr => Run(new CliOutput(pr.GetValue(json)), hash: false));

        var verifyJson = CommonOptions.Json();
        var verify = new Command("verify", "Check the sha256 of every copy found; exit 1 if a copy differs or a shipped asset is missing.")
        {
            verifyJson,
        };
        verify.SetAction(pr => Run(new CliOutput(pr.GetValue(verifyJson)), hash: true));
        cmd.Subcommands.Add(verify);
        return cmd;
    }

    private static int Run(CliOutput output, bool hash)
    {
        var statuses = AssetCheck.Run(hash);
        bool ok = AssetCheck.Passes(statuses);
        output.Result(new
        {
            ok,
            verified = hash,
            shipped_root = AssetPaths.ShippedRoot(),
            shared_root = AssetPaths.SharedRoot(),
            assets = statuses.Select(s => new
            {
                name = s.Entry.Name,
                path = s.Entry.RelativePath,
                description = s.Entry.Description,
                source = s.Entry.Source,
                licence = s.Entry.Licence,
                size = s.Entry.Size,
                sha256 = s.Entry.Sha256,
                provider = ProviderName(s.Entry.Provider),
                how_to_get = s.Entry.HowToGet,
                available = s.Available,
                copies = s.Copies.Select(c => new { path = c.Path, state = c.State }),
            }),
        });
        if (!output.Json) Render(output.Human, statuses, hash);
        if (!ok)
        {
            var bad = statuses.First(s => !s.Copies.All(c => c.Good) || (s.Entry.Provider == AssetProvider.Shipped && !s.Available));
            var copy = bad.Copies.FirstOrDefault(c => !c.Good);
            CliOutput.Error(copy is not null
                ? $"{copy.Path}: {copy.State} (asset {bad.Entry.Name}, expected {bad.Entry.Size} bytes, sha256 {bad.Entry.Sha256})"
                : $"shipped asset {bad.Entry.Name} ({bad.Entry.RelativePath}) is missing: {bad.Entry.HowToGet}");
        }
        return ok ? ExitCodes.Ok : ExitCodes.Failure;
    }

    /// <summary>The provider as printed and in JSON.</summary>
    internal static string ProviderName(AssetProvider p) => p switch
    {
        AssetProvider.Shipped => "shipped",
        AssetProvider.Shared => "shared folder",
        AssetProvider.DebianPackage => "Debian package",
        AssetProvider.NuGetPackage => "NuGet package",
        _ => p.ToString(),
    };

    private static void Render(IAnsiConsole console, IReadOnlyList<AssetStatus> statuses, bool hash)
    {
        console.MarkupLine($"shipped assets: {Markup.Escape(AssetPaths.ShippedRoot() ?? "not found")}");
        console.MarkupLine($"shared folder:  {Markup.Escape(AssetPaths.SharedRoot() ?? $"not found (a 'shared' folder above the working directory, or ${AssetPaths.SharedEnvVar})")}");
        // One block per asset rather than a table: sources and paths are long, and terminals are narrow.
        foreach (var s in statuses)
        {
            var e = s.Entry;
            console.WriteLine();
            console.MarkupLine($"[bold]{Markup.Escape(e.Name)}[/]  {ProviderName(e.Provider)}, {Size(e.Size)}, {Markup.Escape(e.Licence)}: {Markup.Escape(e.Description)}");
            console.MarkupLine($"  path    {Markup.Escape(e.RelativePath)}");
            console.MarkupLine($"  source  {Markup.Escape(e.Source)}");
            console.MarkupLine($"  sha256  {e.Sha256}");
            if (s.Copies.Count == 0) console.MarkupLine($"  [yellow]missing[/]  {Markup.Escape(e.HowToGet)}");
            foreach (var c in s.Copies)
                console.MarkupLine($"  {(c.Good ? "[green]" : "[red]")}{c.State}[/]  {Markup.Escape(c.Path)}");
        }
        console.WriteLine();
        int available = statuses.Count(s => s.Available);
        console.MarkupLine($"{available} of {statuses.Count} assets available" + (hash ? ", every copy found was hashed" : "; `condense assets verify` checks sha256"));
    }

    private static string Size(long bytes) => bytes >= 1 << 20
        ? (bytes / (double)(1 << 20)).ToString("F1", CultureInfo.InvariantCulture) + " MB"
        : (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KB";
}
