using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Condense.Core.Runtime;

/// <summary>
/// Loads TorchSharp's native backend once and turns a failed load into one clear sentence.
/// TorchSharp's own exception on a failed load is a TypeInitializationException whose message blames a missing
/// package reference; the real cause (a missing library or symbol version) only shows in the loader's error, so
/// we dlopen the native libraries ourselves and report what the loader says.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static string? _failure;
    private static bool _loaded;

    /// <summary>Loads TorchSharp, or throws <see cref="TorchLoadException"/> with a one-line reason.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            if (_failure is not null) throw new TorchLoadException(_failure);
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.ones(1);
                _loaded = true;
                NativeKernels.Apply();
            }
            catch (Exception ex) when (ex is TypeInitializationException or NotSupportedException or DllNotFoundException)
            {
                _failure = Diagnose() ?? $"TorchSharp failed to load: {Innermost(ex).Message}";
                throw new TorchLoadException(_failure);
            }
        }
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count (loading TorchSharp first); 0 keeps libtorch's default. More threads than
    /// this machine has processors is refused (<see cref="InputException"/> naming <c>Threads</c>): libtorch would start
    /// them all, and a typo such as 100000 hangs the process.
    /// </summary>
    public static void SetThreads(int threads)
    {
        int cores = Environment.ProcessorCount;
        if (threads < 0 || threads > cores)
            throw InputException.ForOption("Threads", $"{threads}: must be between 0 (libtorch's default) and {cores}, the processors of this machine");
        EnsureLoaded();
        if (threads > 0) torch.set_num_threads(threads);
    }

    /// <summary>True when TorchSharp loads; never throws.</summary>
    public static bool TryLoad(out string? error)
    {
        try
        {
            EnsureLoaded();
            error = null;
            return true;
        }
        catch (TorchLoadException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    /// <summary>The TorchSharp assembly's informational version, e.g. "0.107.0".</summary>
    public static string TorchSharpVersion
    {
        get
        {
            var asm = typeof(torch).Assembly;
            var info = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            return (info ?? asm.GetName().Version?.ToString() ?? "unknown").Split('+')[0];
        }
    }

    /// <summary>libtorch's version as libtorch reports it, e.g. "2.10.0".</summary>
    public static string LibTorchVersion
    {
        get
        {
            EnsureLoaded();
            return torch.__version__;
        }
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }

    // dlopen the natives in dependency order; the first loader error names the missing library or symbol version.
    private static string? Diagnose()
    {
        var baseDir = AppContext.BaseDirectory;
        var rid = RuntimeInformation.RuntimeIdentifier.StartsWith("linux", StringComparison.Ordinal) ? "linux-x64" : RuntimeInformation.RuntimeIdentifier;
        string[] dirs = [Path.Combine(baseDir, "runtimes", rid, "native"), baseDir];
        foreach (var name in new[] { "libtorch_cpu.so", "libtorch.so", "libLibTorchSharp.so" })
        {
            var path = dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
            if (path is null)
            {
                if (name == "libLibTorchSharp.so") return $"TorchSharp failed to load: {name} not found under {baseDir}";
                continue;
            }
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException ex)
            {
                return $"TorchSharp failed to load {path}: {ex.Message.Split('\n')[0]}";
            }
        }
        return null;
    }
}

/// <summary>TorchSharp's native backend could not be loaded; the message is one line naming the cause.</summary>
public sealed class TorchLoadException(string message) : Exception(message);
