using System.Globalization;
using System.Text.RegularExpressions;
using Condense.Core.Checkpoints;
using Condense.Core.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Core.Training;

/// <summary>
/// A resumable training checkpoint, one safetensors file: the model's state dict under "model.", the optimizer
/// state under "optimizer.", torch's CPU generator state as "rng.torch"; step counts in <c>__metadata__</c>.
/// Restoring all of it makes the resumed run's losses equal those of an uninterrupted run.
/// </summary>
public static partial class TrainingCheckpoint
{
    /// <summary>The <c>format</c> metadata value of a training checkpoint; other files are refused on resume.</summary>
    public const string Format = "condense.training.v1";

    /// <summary>checkpoints/step_00000500.safetensors</summary>
    public static string PathFor(string runDir, long step) =>
        System.IO.Path.Combine(runDir, "checkpoints", string.Create(CultureInfo.InvariantCulture, $"step_{step:D8}.safetensors"));

    /// <summary>The newest checkpoint in the run folder, or null.</summary>
    public static string? Latest(string runDir) => List(runDir).LastOrDefault().Path;

    /// <summary>All step checkpoints, oldest first.</summary>
    public static List<(long Step, string Path)> List(string runDir)
    {
        var dir = System.IO.Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "step_*.safetensors")
            .Select(p => (Match: StepFile().Match(System.IO.Path.GetFileName(p)), Path: p))
            .Where(x => x.Match.Success)
            .Select(x => (long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Path))
            .OrderBy(x => x.Item1)
            .ToList();
    }

    /// <summary>Metadata key of the run configuration (JSON object of strings) a checkpoint was written under.</summary>
    public const string ConfigurationKey = "configuration";

    /// <summary>Writes model, optimizer and RNG state atomically, with a data checksum and the run configuration.</summary>
    public static void Save(string path, nn.Module model, Optimizer optimizer, long step, string optimizerName,
        IReadOnlyDictionary<string, string>? configuration = null)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in model.state_dict()) tensors[$"model.{name}"] = t;
        foreach (var (name, t) in optimizer.StateTensors()) tensors[$"optimizer.{name}"] = t;
        using var rng = torch.get_rng_state();
        tensors["rng.torch"] = rng;
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = optimizerName,
            ["optimizer_step"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
        };
        if (configuration is not null) metadata[ConfigurationKey] = System.Text.Json.JsonSerializer.Serialize(configuration);
        Safetensors.Save(path, tensors, metadata, checksum: true);
    }

    /// <summary>Restores model, optimizer and RNG; returns the step the checkpoint was taken at.</summary>
    public static long Load(string path, nn.Module model, Optimizer optimizer, string optimizerName)
    {
        using var scope = torch.NewDisposeScope();
        using var content = Safetensors.Load(path);
        var meta = content.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new InputException($"{path}: not a Condense training checkpoint (format '{format ?? "none"}', expected '{Format}')");
        if (meta.GetValueOrDefault("optimizer") != optimizerName)
            throw new InputException($"{path}: checkpoint was trained with optimizer '{meta.GetValueOrDefault("optimizer")}', this run uses '{optimizerName}'");
        long step = ParseLong(path, meta, "step");
        long optimizerStep = ParseLong(path, meta, "optimizer_step");

        using (torch.no_grad())
        {
            var expected = model.state_dict();
            foreach (var (name, target) in expected)
            {
                if (!content.Tensors.TryGetValue($"model.{name}", out var saved))
                    throw new InputException($"{path}: missing tensor 'model.{name}'");
                if (!saved.shape.SequenceEqual(target.shape))
                    throw new InputException($"{path}: tensor 'model.{name}' has shape [{string.Join(",", saved.shape)}], the model expects [{string.Join(",", target.shape)}]");
                target.copy_(saved);
            }
            var unexpected = content.Tensors.Keys.Where(k => k.StartsWith("model.", StringComparison.Ordinal) && !expected.ContainsKey(k[6..])).Take(3).ToList();
            if (unexpected.Count > 0) throw new InputException($"{path}: unexpected tensors {string.Join(", ", unexpected)}");
        }
        var optState = content.Tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value);
        optimizer.LoadState(optState, optimizerStep);
        if (!content.Tensors.TryGetValue("rng.torch", out var rng)) throw new InputException($"{path}: missing tensor 'rng.torch'");
        torch.set_rng_state(rng);
        return step;
    }

    /// <summary>The run configuration recorded in a checkpoint's metadata, or null (older checkpoints have none).</summary>
    public static Dictionary<string, string>? Configuration(string path)
    {
        var meta = Safetensors.ReadHeader(path).Metadata;
        if (!meta.TryGetValue(ConfigurationKey, out var json)) return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            throw new InputException($"{path}: metadata field '{ConfigurationKey}' is not a JSON object of strings");
        }
    }

    private static long ParseLong(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new InputException($"{path}: metadata field '{key}' is missing or not an integer");

    [GeneratedRegex(@"^step_(\d+)\.safetensors$")]
    private static partial Regex StepFile();
}
