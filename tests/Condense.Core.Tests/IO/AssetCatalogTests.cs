using System.Text.RegularExpressions;
using Condense.Core.IO;

namespace Condense.Core.Tests.IO;

public sealed class AssetCatalogTests
{
    private static string Repo => AssetPaths.RepositoryRoot() ?? throw new InvalidOperationException("tests run inside the checkout");

    [Fact]
    public void Every_entry_is_complete_and_named_once()
    {
        Assert.Equal(AssetCatalog.All.Count, AssetCatalog.All.Select(a => a.Name).Distinct().Count());
        foreach (var a in AssetCatalog.All)
        {
            Assert.Matches("^[0-9a-f]{64}$", a.Sha256);
            Assert.True(a.Size > 0, a.Name);
            foreach (var text in new[] { a.RelativePath, a.Description, a.Source, a.Licence, a.HowToGet })
                Assert.False(string.IsNullOrWhiteSpace(text), a.Name);
            Assert.DoesNotContain('\\', a.RelativePath);
        }
    }

    [Fact]
    public void Shipped_files_in_the_checkout_match_their_size_and_sha256()
    {
        var shipped = AssetCatalog.All.Where(a => a.Provider == AssetProvider.Shipped).ToList();
        Assert.NotEmpty(shipped);
        foreach (var a in shipped)
        {
            var path = Path.Combine(Repo, "assets", a.RelativePath);
            Assert.True(File.Exists(path), path);
            Assert.Equal(a.Size, new FileInfo(path).Length);
            Assert.Equal(a.Sha256, AssetCheck.Sha256Hex(path));
        }
    }

    [Fact]
    public void The_assets_readme_lists_exactly_the_shipped_files_with_their_checksums()
    {
        // Rows look like: | `models/llama2c/tok512.bin` | ... | 6227 | 037c...c312 |
        var rows = File.ReadLines(Path.Combine(Repo, "assets", "README.md"))
            .Select(l => Regex.Match(l, @"^\| `([^`]+)` \|.*\| (\d+) \| ([0-9a-f]{64}) \|$"))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => (Size: long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Sha: m.Groups[3].Value));
        var shipped = AssetCatalog.All.Where(a => a.Provider == AssetProvider.Shipped).ToDictionary(a => a.RelativePath);
        Assert.Equal(shipped.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, row) in rows)
        {
            Assert.Equal(shipped[path].Size, row.Size);
            Assert.Equal(shipped[path].Sha256, row.Sha);
        }
        // Every shipped data file is catalogued (licences and READMEs aside).
        var onDisk = Directory.EnumerateFiles(Path.Combine(Repo, "assets"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Combine(Repo, "assets"), f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith("LICENSE", StringComparison.Ordinal));
        Assert.Equal(shipped.Keys.Order(StringComparer.Ordinal), onDisk.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Find_resolves_files_and_model_folders()
    {
        Assert.Equal("stories260K", AssetCatalog.Find("models/llama2c/stories260K.bin")?.Name);
        Assert.Equal("stories260K-hf-config", AssetCatalog.Find("models/hf/stories260K")?.Name);
        Assert.Null(AssetCatalog.Find("models/none.bin"));
    }
}
