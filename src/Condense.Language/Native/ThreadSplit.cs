// How the native engine splits a product's rows over threads. The default is the spinning WorkerTeam, splitting every
// matrix-vector product of at least 2^16 multiply-adds; `Spinning = false` is the engine as it was before the team:
// .NET's Parallel.For (a sleeping pool thread woken per product) from 2^18 multiply-adds up, kept as the ablation that
// the decode benchmark measures. Either way each row is summed as on one thread, so results are equal.
namespace Condense.Language.Native;

/// <summary>Threads for the native engine's products, and how they are run.</summary>
/// <param name="Threads">Threads, the calling one included.</param>
/// <param name="Spinning">The spinning <see cref="WorkerTeam"/> (default) or Parallel.For with the earlier threshold.</param>
public readonly record struct ThreadSplit(int Threads, bool Spinning = true)
{
    /// <summary>Matrix-vector products smaller than this many multiply-adds stay on the calling thread.</summary>
    public long MatVecMinimum => Spinning ? 1L << 16 : 1L << 18;

    /// <summary>One thread per product.</summary>
    public static ThreadSplit One => new(1);

    /// <summary><paramref name="threads"/> threads on the spinning team.</summary>
    public static implicit operator ThreadSplit(int threads) => new(threads);

    /// <summary><paramref name="threads"/> threads on the spinning team.</summary>
    public static ThreadSplit FromInt32(int threads) => new(threads);

    /// <summary>Runs <paramref name="part"/>(0 .. <paramref name="count"/>−1), each once, over the threads.</summary>
    public void Run(int count, Action<int> part)
    {
        if (Spinning) WorkerTeam.Shared.Run(count, Threads, part);
        else Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Threads }, part);
    }
}
