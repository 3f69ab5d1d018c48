namespace Condense.Core.IO;

/// <summary>
/// Where models and data are found. Two folders hold files under the same relative paths (e.g.
/// "models/llama2c/stories260K.bin"): the shared folder (the nearest folder named <c>shared</c> with <c>models/</c>
/// and <c>data/</c>, found walking up from the <c>CONDENSE_ROOT</c> checkout, the working directory or the program's
/// folder; <c>CONDENSE_SHARED</c> overrides it) and the shipped <c>assets/</c> folder (beside the program, which is
/// how the tool package carries it, else in the checkout). <see cref="AssetCatalog"/> lists every known file.
/// </summary>
public static class AssetPaths
{
    /// <summary>The environment variable that names the shared folder explicitly.</summary>
    public const string SharedEnvVar = "CONDENSE_SHARED";

    /// <summary>The Debian package <c>dataset-fashion-mnist</c> installs here.</summary>
    public const string FashionMnistSystemDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>Overrides where the full Fashion-MNIST is looked for (a folder with the four IDX files).</summary>
    public const string FashionMnistEnvVar = "CONDENSE_FASHION_MNIST";

    /// <summary>The folder of the full Fashion-MNIST: $CONDENSE_FASHION_MNIST, else the Debian package's.</summary>
    public static string FashionMnistDir() =>
        Environment.GetEnvironmentVariable(FashionMnistEnvVar) is { Length: > 0 } dir ? dir : FashionMnistSystemDir;

    /// <summary>Where Debian's mricron-data installs its templates, or <c>$CONDENSE_MRICRON</c>.</summary>
    public static string MricronDir() =>
        Environment.GetEnvironmentVariable("CONDENSE_MRICRON") is { Length: > 0 } dir ? dir : "/usr/share/mricron/templates";

    /// <summary>The shared folder, or null when none is found.</summary>
    public static string? SharedRoot()
    {
        var env = Environment.GetEnvironmentVariable(SharedEnvVar);
        if (!string.IsNullOrWhiteSpace(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        foreach (var start in StartDirs())
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(candidate, "models")) && Directory.Exists(Path.Combine(candidate, "data")))
                    return candidate;
            }
        }
        return null;
    }

    /// <summary>A path under the shared folder (e.g. "models/llama2c/stories260K.bin"), or null when absent.</summary>
    public static string? Shared(string relative)
    {
        var root = SharedRoot();
        if (root is null) return null;
        var path = Path.Combine(root, relative);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    /// <summary>The folder of the assets that ship with Condense (beside the program, else the checkout's), or null.</summary>
    public static string? ShippedRoot()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "assets");
        if (Directory.Exists(beside)) return beside;
        var repo = RepositoryRoot();
        return repo is not null && Directory.Exists(Path.Combine(repo, "assets")) ? Path.Combine(repo, "assets") : null;
    }

    /// <summary>A shipped file (e.g. "models/llama2c/tok512.bin"), or null when absent.</summary>
    public static string? Shipped(string relative)
    {
        var root = ShippedRoot();
        if (root is null) return null;
        var path = Path.Combine(root, relative);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    /// <summary>
    /// The file or folder at <paramref name="relative"/>: the shared folder's copy, else the shipped one. Throws an
    /// <see cref="InputException"/> naming the asset and where it was looked for when neither exists.
    /// </summary>
    public static string Require(string relative)
    {
        var found = Shared(relative) ?? Shipped(relative);
        if (found is not null) return found;
        var entry = AssetCatalog.Find(relative);
        var name = entry is null ? relative : $"{entry.Name} ({relative})";
        var root = SharedRoot();
        var env = Environment.GetEnvironmentVariable(SharedEnvVar);
        var where = root is null && !string.IsNullOrWhiteSpace(env)
            ? $"${SharedEnvVar} names {env}, which does not exist"
            : root is null
            ? $"no shared folder found (a 'shared' folder with models/ and data/ above the working directory, or ${SharedEnvVar})"
            : $"not in the shared folder {root}";
        throw new InputException($"missing asset {name}: {where}, and Condense does not ship it; `condense assets` says where it comes from");
    }

    /// <summary>Where <paramref name="entry"/> is on this machine (every copy found, provider's first), or empty.</summary>
    public static IReadOnlyList<string> Locate(AssetEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string?[] places = entry.Provider switch
        {
            AssetProvider.Shipped => [ShippedRoot(), SharedRoot()],
            AssetProvider.Shared => [SharedRoot(), ShippedRoot()],
            AssetProvider.DebianPackage => [FashionMnistDir(), MricronDir()],
            AssetProvider.NuGetPackage => [AppContext.BaseDirectory],
            _ => throw new ArgumentOutOfRangeException(nameof(entry), entry.Provider, "unknown provider"),
        };
        return [.. places.OfType<string>().Select(dir => Path.Combine(dir, entry.RelativePath)).Where(File.Exists)];
    }

    /// <summary>The checkout's root (the folder holding Condense.slnx), or null outside a checkout.</summary>
    public static string? RepositoryRoot()
    {
        foreach (var start in StartDirs())
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Condense.slnx"))) return dir.FullName;
        }
        return null;
    }

    private static IEnumerable<string> StartDirs()
    {
        var root = Environment.GetEnvironmentVariable("CONDENSE_ROOT");
        if (!string.IsNullOrWhiteSpace(root) && Directory.Exists(root)) yield return root;
        yield return Directory.GetCurrentDirectory();
        yield return AppContext.BaseDirectory;
    }
}
