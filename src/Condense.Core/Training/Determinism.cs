using TorchSharp;

namespace Condense.Core.Training;

/// <summary>
/// The one place that seeds randomness. Same seed, same thread count, same losses: libtorch's CPU kernels are
/// deterministic for fixed shapes and threads, so seeding torch's generator is all a run needs; data order comes
/// from <c>(seed, epoch)</c> in the loaders, never from a global generator.
/// </summary>
public static class Determinism
{
    /// <summary>Seeds torch's default CPU generator.</summary>
    public static void Seed(long seed) => torch.manual_seed(seed);
}
