using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>
/// `condense assets` and what ships: with no shared folder at all (CONDENSE_SHARED naming a folder that does not exist,
/// run from an empty folder), the defaults of `distill` and `generate` still work from the shipped assets, and a
/// missing shared asset is named with a pointer to `condense assets`.
/// </summary>
public sealed class AssetsCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-assets-cli-");

    public void Dispose() => _temp.Dispose();

    private Dictionary<string, string?> NoShared() => new()
    {
        ["CONDENSE_SHARED"] = Path.Combine(_temp.Path, "no-such-shared-folder"),
        ["CONDENSE_ROOT"] = null,
    };

    private string EmptyFolder()
    {
        var dir = Path.Combine(_temp.Path, "cwd");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void Json_lists_every_asset_with_source_licence_and_sha256_and_verify_passes()
    {
        var r = CliProcess.Run("assets", "verify", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.True(json.GetProperty("ok").GetBoolean());
        var assets = json.GetProperty("assets").EnumerateArray().ToList();
        Assert.Contains(assets, a => a.GetProperty("name").GetString() == "stories260K" && a.GetProperty("provider").GetString() == "shipped");
        foreach (var a in assets)
        {
            Assert.Matches("^[0-9a-f]{64}$", a.GetProperty("sha256").GetString());
            Assert.False(string.IsNullOrWhiteSpace(a.GetProperty("source").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(a.GetProperty("licence").GetString()));
            foreach (var c in a.GetProperty("copies").EnumerateArray())
                Assert.Equal("verified", c.GetProperty("state").GetString());
        }
        var shipped = assets.Where(a => a.GetProperty("provider").GetString() == "shipped").ToList();
        Assert.NotEmpty(shipped);
        Assert.All(shipped, a => Assert.True(a.GetProperty("available").GetBoolean()));
    }

    [Fact]
    public void Verify_names_a_copy_whose_bytes_differ()
    {
        // A shared folder whose tok512 has the right size and one flipped byte.
        var shared = Path.Combine(_temp.Path, "shared");
        Directory.CreateDirectory(Path.Combine(shared, "models", "llama2c"));
        Directory.CreateDirectory(Path.Combine(shared, "data"));
        var repo = Condense.Core.IO.AssetPaths.RepositoryRoot()!;
        var bytes = File.ReadAllBytes(Path.Combine(repo, "assets", "models", "llama2c", "tok512.bin"));
        bytes[^1] ^= 0x5A;
        var bad = Path.Combine(shared, "models", "llama2c", "tok512.bin");
        File.WriteAllBytes(bad, bytes);

        var env = new Dictionary<string, string?> { ["CONDENSE_SHARED"] = shared };
        var list = CliProcess.RunWith(null, env, "assets", "--json");
        Assert.Equal(0, list.ExitCode); // sizes agree: only the hash can tell
        var r = CliProcess.RunWith(null, env, "assets", "verify", "--json");
        Assert.Equal(1, r.ExitCode);
        Assert.False(r.Json().GetProperty("ok").GetBoolean());
        var error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(bad, error, StringComparison.Ordinal);
        Assert.Contains("wrong sha256", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_works_from_an_empty_folder_with_no_shared_folder()
    {
        var r = CliProcess.RunWith(EmptyFolder(), NoShared(), "generate", "--prompt", "Once upon a time", "--steps", "12", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("Once upon a time", r.Json().GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Distill_with_the_default_teachers_works_with_no_shared_folder()
    {
        var run = Path.Combine(_temp.Path, "run");
        var r = CliProcess.RunWith(EmptyFolder(), NoShared(), "distill", "--steps", "4", "--progress", "none", "--json", "--run-dir", run,
            "--set", "data.train_images=64", "--set", "data.test_images=32", "--set", "train.batch_size=16",
            "--set", "student.depth=1", "--set", "student.embed_dim=32", "--set", "eval.probe_steps=5",
            "--set", $"train.cache_dir={Path.Combine(_temp.Path, "cache")}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var teachers = r.Json().GetProperty("knn").EnumerateArray().Select(k => k.GetProperty("teacher").GetString()).ToList();
        Assert.Contains("resnet8", teachers);
        Assert.Contains("resnet18", teachers);
    }

    [Fact]
    public void A_missing_shared_asset_is_named_with_a_pointer_to_condense_assets()
    {
        var r = CliProcess.RunWith(EmptyFolder(), NoShared(), "eval-ppl");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("missing asset tinystories-valid", line, StringComparison.Ordinal);
        Assert.Contains("condense assets", line, StringComparison.Ordinal);
        Assert.Contains("no-such-shared-folder", line, StringComparison.Ordinal);
    }
}
