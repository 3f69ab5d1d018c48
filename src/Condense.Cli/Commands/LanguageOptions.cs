using System.CommandLine;
using Condense.Core;

namespace Condense.Cli.Commands;

/// <summary>Options shared by the language-model commands.</summary>
internal static class LanguageOptions
{
    public static Option<int> Threads() => new("--threads")
    {
        Description = "Torch intra-op threads (0 = torch's default). Small models decode fastest on 1 thread.",
    };

    /// <summary>Applies --threads (after TorchRuntime.EnsureLoaded).</summary>
    public static void ApplyThreads(int threads)
    {
        if (threads < 0) throw new InputException($"--threads must be >= 0, got {threads}");
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
    }
}
