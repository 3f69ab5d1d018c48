namespace Condense.Core.IO;

/// <summary>
/// Where the shared models and data live. Nothing is copied into the repository: the default is the nearest
/// folder named <c>shared</c> (with <c>models/</c> and <c>data/</c>) found walking up from the working
/// directory, the <c>CONDENSE_ROOT</c> checkout, or the program's folder; <c>CONDENSE_SHARED</c> overrides it.
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

    /// <summary>Like <see cref="Shared"/> but throws an <see cref="InputException"/> naming what is missing.</summary>
    public static string RequireShared(string relative)
    {
        var root = SharedRoot()
            ?? throw new InputException($"shared folder not found (looked for ../shared; set {SharedEnvVar})");
        var path = Path.Combine(root, relative);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new InputException($"missing shared asset: {path}");
        return path;
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
