// Tests share libtorch's global RNG and thread pool: run them one at a time so seeded runs stay reproducible.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Condense.Language.Tests;

internal static class TestThreads
{
    // The models under test are tiny (at most a few MFLOP per token): with several intra-op threads on a busy
    // 2-core machine each small op waits for a descheduled worker (10-20x slower measured), so use one.
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void UseOneThread() => TorchSharp.torch.set_num_threads(1);
}
