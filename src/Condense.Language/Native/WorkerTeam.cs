// The threads the native engine splits its products over. A token's decode is ~60 matrix products of tens to hundreds of
// microseconds each; waking a sleeping pool thread for each (Parallel.For) costs microseconds to tens of microseconds on
// a VM, and then the two halves start apart. So, as llama.cpp's thread pool does between the operations of a graph, the
// workers spin while work keeps coming and sleep only after SpinMicroseconds without a job.
//
// One process-wide team (workers are background threads, created on first use); a caller that finds it busy (another
// engine on another thread, or a part that itself asks for threads) runs every part itself. Which thread runs which part never changes a result: the parts are
// fixed before the run and each is computed the same way wherever it runs.
using System.Diagnostics;

namespace Condense.Language.Native;

/// <summary>Spinning worker threads that run the parts of one job at a time beside the calling thread.</summary>
public sealed class WorkerTeam
{
    /// <summary>How long an idle worker spins for the next job before it sleeps.</summary>
    public const int SpinMicroseconds = 500;

    private sealed class Worker
    {
        public long Ticket;            // bumped by Run to hand this worker the current job
        public int Sleeping;           // 1 while blocked on Wake
        public readonly SemaphoreSlim Wake = new(0);
    }

    private static readonly Lazy<WorkerTeam> shared = new(() => new WorkerTeam(Math.Max(1, Environment.ProcessorCount - 1)));

    private readonly Worker[] workers;
    private int busy;   // 1 while a Run holds the team (not a Monitor: a part that called Run again must not re-enter)
    private Action<int>? job;
    private int parts, nextPart, pending;
    private Exception? failure;   // the first exception a worker's part threw, rethrown by Run

    private WorkerTeam(int size)
    {
        workers = new Worker[size];
        for (int i = 0; i < size; i++)
        {
            var worker = workers[i] = new Worker();
            new Thread(() => Loop(worker)) { IsBackground = true, Name = $"condense-native-{i}" }.Start();
        }
    }

    /// <summary>The process-wide team (one worker per logical processor beyond the first).</summary>
    public static WorkerTeam Shared => shared.Value;

    /// <summary>
    /// Runs <paramref name="part"/>(0 .. <paramref name="count"/>−1), each once, on the calling thread and up to
    /// <paramref name="threads"/>−1 workers; returns when all are done.
    /// </summary>
    public void Run(int count, int threads, Action<int> part)
    {
        ArgumentNullException.ThrowIfNull(part);
        int helpers = Math.Min(Math.Min(threads, count) - 1, workers.Length);
        if (helpers <= 0 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int p = 0; p < count; p++) part(p);
            return;
        }
        try
        {
            job = part;
            parts = count;
            nextPart = 0;
            pending = helpers;
            for (int i = 0; i < helpers; i++)
            {
                var worker = workers[i];
                Interlocked.Increment(ref worker.Ticket);
                if (Volatile.Read(ref worker.Sleeping) == 1) worker.Wake.Release();
            }
            failure = null;
            try
            {
                RunParts();
            }
            finally
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
            }
            if (failure is { } e) throw new InvalidOperationException("a part of a native product failed", e);
        }
        finally
        {
            job = null;
            Volatile.Write(ref busy, 0);
        }
    }

    // Claims parts until none is left.
    private void RunParts()
    {
        var work = job!;
        for (int p; (p = Interlocked.Increment(ref nextPart) - 1) < parts;) work(p);
    }

    private void Loop(Worker worker)
    {
        long seen = 0;
        while (true)
        {
            long idleSince = Stopwatch.GetTimestamp();   // a timestamp, not a Stopwatch: no allocation per product
            while (Volatile.Read(ref worker.Ticket) == seen)
            {
                if (Stopwatch.GetElapsedTime(idleSince).TotalMicroseconds < SpinMicroseconds)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                // Announce the sleep, then look once more: a Run that bumped the ticket before seeing the flag is caught
                // here; one that sees the flag releases Wake (a release that finds this worker awake leaves a count
                // behind, which costs one extra pass through this loop later).
                Interlocked.Exchange(ref worker.Sleeping, 1);   // a full fence: the flag is visible before the ticket is read
                if (Volatile.Read(ref worker.Ticket) == seen) worker.Wake.Wait();
                Volatile.Write(ref worker.Sleeping, 0);
                idleSince = Stopwatch.GetTimestamp();
            }
            seen = Volatile.Read(ref worker.Ticket);
            try
            {
                RunParts();
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
            }
            Interlocked.Decrement(ref pending);
        }
    }
}
