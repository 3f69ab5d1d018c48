// One writer per run folder. The lock is an exclusive advisory lock (flock on Linux and macOS, a share-none handle on
// Windows) on <run>/.lock, held open for the run; the kernel drops it when the process exits, however it exits, so a
// crashed run leaves no stale lock. The holder's pid is written beside it (.lock.owner) for the refusal message.
// Within one process the lock is re-entrant: an engine and the Trainer it drives may both take it.
using System.Globalization;

namespace Condense.Core.IO;

/// <summary>An exclusive lock on a run folder, held until disposed.</summary>
public sealed class RunFolderLock : IDisposable
{
    private static readonly Dictionary<string, (FileStream Handle, int Count)> Held = new(StringComparer.Ordinal);
    private readonly string _path;
    private bool _disposed;

    private RunFolderLock(string path) => _path = path;

    /// <summary>
    /// Locks <paramref name="runDir"/> (created if missing) for this process; another process holding it is an
    /// <see cref="InputException"/> naming the folder and the holder's pid.
    /// </summary>
    public static RunFolderLock Acquire(string runDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDir);
        var dir = Path.GetFullPath(runDir);
        var lockPath = Path.Combine(dir, ".lock");
        lock (Held)
        {
            if (Held.TryGetValue(lockPath, out var held))
            {
                Held[lockPath] = (held.Handle, held.Count + 1);
                return new RunFolderLock(lockPath);
            }
            OutputPaths.RequireWritableDirectory(dir, "RunDir");
            FileStream handle;
            try
            {
                handle = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                throw new InputException($"{runDir}: run folder is in use by another Condense process ({Owner(lockPath)}); wait for it, stop it, or use another run folder");
            }
            AtomicFile.WriteAllText(lockPath + ".owner", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Held[lockPath] = (handle, 1);
            return new RunFolderLock(lockPath);
        }
    }

    private static string Owner(string lockPath)
    {
        try
        {
            var pid = File.ReadAllText(lockPath + ".owner").Trim();
            return $"pid {pid}";
        }
        catch (IOException)
        {
            return "pid unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "pid unknown";
        }
    }

    /// <summary>Releases this hold; the lock itself goes when the process's last hold on the folder does.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (Held)
        {
            var (handle, count) = Held[_path];
            if (count > 1)
            {
                Held[_path] = (handle, count - 1);
                return;
            }
            Held.Remove(_path);
            try { File.Delete(_path + ".owner"); } catch (IOException) { }
            handle.Dispose();
        }
    }
}
