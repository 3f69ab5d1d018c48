using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Core.Training;
using Condense.Testing;

namespace Condense.Core.Tests.Training;

/// <summary>
/// What protects a run folder: checkpoints carry a checksum and a corrupt newest one falls back to the previous,
/// a resume under other settings is refused, stale temp files are removed, and one process writes at a time.
/// </summary>
public sealed class RunSafetyTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly List<string> _notices = [];

    public void Dispose() => _temp.Dispose();

    private TrainerOptions Options(string name, long steps) => new()
    {
        RunDir = _temp.File(name),
        MaxSteps = steps,
        Seed = 7,
        LearningRate = 3e-3,
        WarmupSteps = 3,
        CheckpointEvery = 5,
        KeepCheckpoints = 3,
        LogEvery = 5,
        Progress = ProgressMode.None,
        TensorBoard = false,
        Plots = false,
        Notice = _notices.Add,
    };

    private static TrainResult Train(TrainerOptions options)
    {
        var model = TinyCifar.Mlp(1);
        return new Trainer(model, options).Fit(step => TinyCifar.BatchesFrom(step, 16), batch => TinyCifar.Loss(model, batch));
    }

    // Flips one byte inside the data section (not the header), where only a checksum can see it.
    private static void FlipDataByte(string path)
    {
        long dataStart = Safetensors.ReadHeader(path).DataStart;
        var bytes = File.ReadAllBytes(path);
        int at = (int)(dataStart + (bytes.Length - dataStart) / 2);
        bytes[at] ^= 0x40;
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void A_flipped_byte_inside_a_tensor_fails_the_checksum()
    {
        Train(Options("run", 5));
        var path = TrainingCheckpoint.Latest(_temp.File("run"))!;
        Assert.True(Safetensors.ReadHeader(path).Metadata.ContainsKey(Safetensors.ChecksumKey));
        FlipDataByte(path);
        var e = Assert.Throws<InputException>(() => Safetensors.Load(path).Dispose());
        Assert.Contains("checksum mismatch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_newest_checkpoint_falls_back_to_the_previous_one()
    {
        var options = Options("run", 15);
        var full = Train(options);                                       // checkpoints at 5, 10 and 15
        FlipDataByte(TrainingCheckpoint.PathFor(options.RunDir, 15));
        var resumed = Train(options);
        Assert.Equal(10, resumed.ResumedFromStep);
        Assert.Contains(_notices, n => n.Contains("step_00000015.safetensors is unreadable", StringComparison.Ordinal) && n.Contains("step_00000010", StringComparison.Ordinal));
        Assert.Equal(full.Losses, resumed.Losses);                       // steps 11..15 retrained exactly
    }

    [Fact]
    public void No_readable_checkpoint_is_an_error_not_a_silent_restart()
    {
        var options = Options("run", 5);
        Train(options);
        FlipDataByte(TrainingCheckpoint.PathFor(options.RunDir, 5));
        var e = Assert.Throws<CorruptCheckpointException>(() => Train(options with { MaxSteps = 10 }));
        Assert.Contains("no readable checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resuming_with_other_settings_is_refused_naming_them_unless_allowed()
    {
        var options = Options("run", 5) with { Configuration = new Dictionary<string, string> { ["dataset"] = "mnist" } };
        Train(options);
        var changed = options with { MaxSteps = 10, Seed = 8, LearningRate = 0.01, Configuration = new Dictionary<string, string> { ["dataset"] = "cifar" } };
        var e = Assert.Throws<ConfigurationChangedException>(() => Train(changed));
        Assert.Equal(nameof(TrainerOptions.AllowConfigChange), e.Option);
        Assert.Contains("seed 7 → 8", e.Message, StringComparison.Ordinal);
        Assert.Contains("learning_rate 0.003 → 0.01", e.Message, StringComparison.Ordinal);
        Assert.Contains("dataset mnist → cifar", e.Message, StringComparison.Ordinal);

        var longer = Train(options with { MaxSteps = 10 });              // only the step count changed: resumes
        Assert.Equal(5, longer.ResumedFromStep);
        var allowed = Train(changed with { MaxSteps = 12, AllowConfigChange = true });
        Assert.Equal(10, allowed.ResumedFromStep);
        Assert.Contains(_notices, n => n.Contains("changed configuration", StringComparison.Ordinal));
    }

    [Fact]
    public void Temp_files_of_a_killed_writer_are_removed_and_live_ones_kept()
    {
        var options = Options("run", 5);
        var dir = Path.Combine(options.RunDir, "checkpoints");
        Directory.CreateDirectory(dir);
        var stale = Path.Combine(dir, $".step_00000005.safetensors.999999.{Guid.NewGuid():N}.tmp");
        var own = Path.Combine(dir, $".step_00000005.safetensors.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale, "half");
        File.WriteAllText(own, "half");
        Train(options);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(own));
        Assert.Equal(999999, AtomicFile.OwnerPid(stale));
        Assert.Null(AtomicFile.OwnerPid(Path.Combine(dir, "step_00000005.safetensors")));
    }

    [Fact]
    public void A_second_writer_is_refused_with_the_holders_pid_and_the_lock_is_reentrant()
    {
        var dir = _temp.File("locked");
        Directory.CreateDirectory(dir);
        // another process's lock, as the kernel sees it: an exclusive handle on .lock and the owner's pid beside it
        using (var other = new FileStream(Path.Combine(dir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            File.WriteAllText(Path.Combine(dir, ".lock.owner"), "4242");
            var e = Assert.Throws<InputException>(() => RunFolderLock.Acquire(dir));
            Assert.Contains("in use by another Condense process (pid 4242)", e.Message, StringComparison.Ordinal);
            Assert.Throws<InputException>(() => Train(Options("locked", 5)));
        }
        using (RunFolderLock.Acquire(dir))
        using (RunFolderLock.Acquire(dir))                                // the engine and its Trainer
        {
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(dir, ".lock.owner")));
        }
        Assert.False(File.Exists(Path.Combine(dir, ".lock.owner")));     // released with the last hold
        using (new FileStream(Path.Combine(dir, ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
    }

    [Fact]
    public void An_output_folder_that_is_a_file_or_unwritable_is_refused_before_any_work()
    {
        var file = _temp.File("a-file");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<InputException>(() => OutputPaths.RequireWritableDirectory(file, "OutDir"));
        Assert.Equal("OutDir", e.Option);
        Assert.Contains("is a file", e.Message, StringComparison.Ordinal);
        Assert.Throws<InputException>(() => OutputPaths.RequireWritableDirectory("/proc/condense-cannot-write-here", "RunDir"));
    }
}
