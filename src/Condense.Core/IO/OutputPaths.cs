// Output paths are checked before any work: a run that would fail to write its result after an hour of work is
// refused up front with the path, not with "internal error" at the end.
namespace Condense.Core.IO;

/// <summary>Checks that output folders and files can be written.</summary>
public static class OutputPaths
{
    /// <summary>
    /// Creates <paramref name="directory"/> if needed and checks that a file can be created in it; otherwise an
    /// <see cref="InputException"/> naming <paramref name="option"/> and the path.
    /// </summary>
    public static void RequireWritableDirectory(string directory, string option)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (File.Exists(directory))
            throw InputException.ForOption(option, $"{directory}: is a file, not a folder");
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw InputException.ForOption(option, $"{directory}: cannot write there ({e.GetType().Name.Replace("Exception", "", StringComparison.Ordinal)}: {e.Message.Split('\n')[0]})");
        }
    }
}
