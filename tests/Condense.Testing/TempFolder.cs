// A private temporary folder per test, deleted afterwards: tests write run folders and broken copies of real
// files here, never into the repository or the shared folder.
namespace Condense.Testing;

public sealed class TempFolder : IDisposable
{
    public string Path { get; }

    /// <summary>A new, empty folder under the system temp folder, named after <paramref name="prefix"/>.</summary>
    public TempFolder(string prefix = "condense-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, byte[] bytes)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public string[] Entries() => Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName).ToArray()!;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
