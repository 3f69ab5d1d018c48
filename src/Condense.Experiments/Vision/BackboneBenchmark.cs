// `condense bench backbones`: throughput and peak memory of registered backbones across input resolutions, to test
// FasterViT's and E-RADIO's claim that hierarchical / windowed attention keeps throughput at high resolution far
// better than a plain ViT, whose global attention grows with the square of the token count.
//
// For each model and resolution: inference at batch 1, inference at a large batch, and one training step
// (forward, a loss on summary and features, backward, AdamW step) at the large batch. The large batch is 32 at
// 224 px and shrinks with the pixel budget 32 x 224^2 at higher resolutions (so each measurement stays within a
// shared 2-core CPU's reach): 6 at 512 px, 1 at 1024 px. Each measurement runs one untimed warm-up call, then
// timed calls until MinSeconds have passed (at least 2, at most 20; a single one when the warm-up call took
// over 5 x MinSeconds).
//
// Peak memory is the process's peak resident set size during the timed calls minus the resident size before them
// (model already loaded), i.e. activations, workspace, gradients and optimizer state: the kernel's peak counter
// (VmHWM) is reset through /proc/self/clear_refs before each measurement, and glibc is told (mallopt) to return
// large blocks to the system at once so that freed memory of one measurement does not hide the next one's.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Experiments.Vision;

/// <summary>One measurement.</summary>
/// <param name="Mode">infer or train.</param>
/// <param name="PeakMemoryMiB">Peak extra resident memory during the timed calls (NaN where the OS does not say).</param>
public sealed record BackboneBenchRow(string Model, string Family, long Parameters, int Resolution, string Mode, int Batch,
    double ImagesPerSecond, double PeakMemoryMiB, int Calls);

/// <summary>Throughput and peak memory of backbones vs resolution.</summary>
public static class BackboneBenchmark
{
    /// <summary>Images per large-batch call: 32 at 224 px, fewer at higher resolutions (pixel budget 32 x 224^2).</summary>
    public static int LargeBatch(int resolution, int maxBatch = 32) =>
        Math.Clamp((int)((long)maxBatch * 224 * 224 / ((long)resolution * resolution)), 1, maxBatch);

    /// <param name="models">Registry names.</param>
    /// <param name="resolutions">Square input sides.</param>
    /// <param name="minSeconds">Timed seconds per measurement (at least 2 calls).</param>
    /// <param name="log">Progress lines.</param>
    public static List<BackboneBenchRow> Run(IReadOnlyList<string> models, IReadOnlyList<int> resolutions, int maxBatch = 32,
        double minSeconds = 3, bool train = true, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(resolutions);
        Memory.Prepare();
        var rows = new List<BackboneBenchRow>();
        foreach (var name in models)
        {
            var info = ModelRegistry.Info(name);
            foreach (int res in resolutions)
            {
                manual_seed(0);
                using var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: res, NumClasses: 0));
                var module = backbone.Module;
                long parameters = module.parameters().Sum(p => p.numel());
                int large = LargeBatch(res, maxBatch);
                module.eval();
                foreach (int batch in large > 1 ? new[] { 1, large } : [1])
                {
                    var (ips, mem, calls) = Measure(batch, res, minSeconds, images =>
                    {
                        using var noGrad = no_grad();
                        backbone.ForwardBackbone(images);
                    });
                    rows.Add(new BackboneBenchRow(name, info.Family, parameters, res, "infer", batch, ips, mem, calls));
                    log?.Invoke($"{name} {res}px infer b{batch}: {ips:F2} img/s, +{mem:F0} MiB");
                }
                if (!train) continue;
                module.train();
                using var optimizer = optim.AdamW(module.parameters(), lr: 1e-4);
                var (tips, tmem, tcalls) = Measure(large, res, minSeconds, images =>
                {
                    optimizer.zero_grad();
                    var output = backbone.ForwardBackbone(images);
                    var loss = output.Summary.square().mean() + output.Features.square().mean();
                    loss.backward();
                    optimizer.step();
                });
                rows.Add(new BackboneBenchRow(name, info.Family, parameters, res, "train", large, tips, tmem, tcalls));
                log?.Invoke($"{name} {res}px train b{large}: {tips:F2} img/s, +{tmem:F0} MiB");
            }
        }
        return rows;
    }

    private static (double ImagesPerSecond, double PeakMiB, int Calls) Measure(int batch, int res, double minSeconds, Action<Tensor> step)
    {
        var warmClock = Stopwatch.StartNew();
        using (var warm = NewDisposeScope()) step(rand(batch, 3, res, res));
        // calls that take many seconds (a ViT at 1024 px on 2 cores) are timed once
        int minCalls = warmClock.Elapsed.TotalSeconds > 5 * minSeconds ? 1 : 2;
        GC.Collect();
        Memory.Trim();
        double baseline = Memory.ResidentMiB();
        Memory.ResetPeak();
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (calls < minCalls || (clock.Elapsed.TotalSeconds < minSeconds && calls < 20))
        {
            using var scope = NewDisposeScope();
            step(rand(batch, 3, res, res));
            calls++;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double peak = Memory.PeakMiB();
        return (calls * batch / seconds, double.IsNaN(peak) ? double.NaN : Math.Max(0, peak - baseline), calls);
    }

    /// <summary>Process memory from /proc (Linux); NaN elsewhere.</summary>
    private static class Memory
    {
        private const int M_MMAP_THRESHOLD = -3;

        [DllImport("libc", EntryPoint = "mallopt")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Mallopt(int param, int value);

        [DllImport("libc", EntryPoint = "malloc_trim")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MallocTrim(nuint pad);

        public static void Prepare()
        {
            // a fixed mmap threshold (128 KiB): large blocks go back to the system on free, so RSS follows tensors
            try { Mallopt(M_MMAP_THRESHOLD, 128 * 1024); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }

        public static void Trim()
        {
            try { MallocTrim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }

        public static void ResetPeak()
        {
            try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }

        public static double ResidentMiB() => Status("VmRSS:");

        public static double PeakMiB() => Status("VmHWM:");

        private static double Status(string key)
        {
            try
            {
                var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
                if (line is null) return double.NaN;
                var kb = line[key.Length..].Trim().Split(' ')[0];
                return double.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) / 1024;
            }
            catch (IOException) { return double.NaN; }
        }
    }
}
