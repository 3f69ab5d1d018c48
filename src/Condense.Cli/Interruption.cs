// Ctrl+C (SIGINT) and SIGTERM. A command whose work resumes (train, distill, sparsify's MaskLLM, the studies built on
// them) runs inside Interruption.Resumable(): the first signal then cancels its token, the Trainer finishes the
// current step, writes a checkpoint atomically, and the command prints one line and exits 1; a second signal aborts
// at once. Outside a resumable scope a signal ends the process at once, as usual: every file Condense writes is
// written atomically, so nothing half-written is left behind. A process started with SIGINT ignored (nohup, a
// background job) keeps ignoring it, as Unix expects; SIGTERM still stops it cleanly.
using System.Runtime.InteropServices;

namespace Condense.Cli;

/// <summary>The process's SIGINT/SIGTERM handling and the cancellation token of the running command.</summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _resumable;
    private int _signals;

    /// <summary>Registers the handlers for this process until disposed.</summary>
    public Interruption()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM inside a resumable scope.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The process's handler while <see cref="Program.Run"/> runs (null in between).</summary>
    public static Interruption? Current { get; set; }

    /// <summary>Marks work that stops cleanly on cancellation (checkpoint, then exit) until disposed.</summary>
    public static IDisposable Resumable()
    {
        var current = Current;
        if (current is null) return new Scope(null);
        Interlocked.Increment(ref current._resumable);
        return new Scope(current);
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Volatile.Read(ref _resumable) == 0 || Interlocked.Increment(ref _signals) > 1)
            return;   // not resumable, or the second signal: the default action ends the process now
        context.Cancel = true;
        Console.Error.WriteLine($"condense: {(context.Signal == PosixSignal.SIGINT ? "Ctrl+C" : "SIGTERM")}: stopping after the current step and saving a checkpoint (again to abort now)");
        _cancel.Cancel();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cancel.Dispose();
    }

    private sealed class Scope(Interruption? owner) : IDisposable
    {
        private Interruption? _owner = owner;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _owner, null) is { } o) Interlocked.Decrement(ref o._resumable);
        }
    }
}
