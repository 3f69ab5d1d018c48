// Saves a module's state_dict to safetensors and loads one back into the module's own parameters and buffers.
using TorchSharp;

namespace Condense.Core.Checkpoints;

/// <summary>
/// Module-level safetensors checkpoints. Names are the state_dict's PyTorch-style dotted names
/// (e.g. <c>0.weight</c>, <c>layers.3.attn.q_proj.bias</c>), so files interoperate with PyTorch.
/// </summary>
public static class ModuleCheckpoint
{
    /// <summary>The key of <c>__metadata__</c> that conventionally holds the model config JSON.</summary>
    public const string ConfigKey = "config";

    private const int NamesShown = 5;

    /// <summary>Saves every parameter and buffer of <paramref name="module"/> plus the metadata.</summary>
    public static void SaveSafetensors(this torch.nn.Module module, string path,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        Safetensors.Save(path, module.state_dict(), metadata);
    }

    /// <summary>
    /// Copies the file's tensors into the module's existing parameters and buffers, without tracking gradients.
    /// Shapes must match; dtypes are converted to the module's. With <paramref name="strict"/>, missing or
    /// unexpected names are an error. Everything is checked before anything is copied, so a failed load leaves
    /// the module as it was. Returns the file's metadata.
    /// </summary>
    public static IReadOnlyDictionary<string, string> LoadSafetensors(this torch.nn.Module module, string path,
        bool strict = true)
    {
        using var scope = torch.NewDisposeScope();
        using var content = Safetensors.Load(path);
        var targets = module.state_dict();

        if (strict)
        {
            var missing = targets.Keys.Where(k => !content.Tensors.ContainsKey(k)).ToList();
            var unexpected = content.Tensors.Keys.Where(k => !targets.ContainsKey(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
            {
                var problems = new List<string>();
                if (missing.Count > 0) problems.Add($"{missing.Count} missing ({Names(missing)})");
                if (unexpected.Count > 0) problems.Add($"{unexpected.Count} unexpected ({Names(unexpected)})");
                throw new InputException(
                    $"{path}: checkpoint does not match the module: {string.Join(", ", problems)}");
            }
        }

        var pairs = targets.Where(t => content.Tensors.ContainsKey(t.Key))
            .Select(t => (name: t.Key, target: t.Value, source: content.Tensors[t.Key])).ToList();
        foreach (var (name, target, source) in pairs)
        {
            if (!source.shape.SequenceEqual(target.shape))
                throw new InputException($"{path}: tensor '{name}' has shape [{string.Join(", ", source.shape)}], " +
                    $"the module expects [{string.Join(", ", target.shape)}]");
        }

        using (torch.no_grad())
        {
            foreach (var (_, target, source) in pairs)
                target.copy_(source.to(target.dtype, target.device));
        }
        return content.Metadata;
    }

    private static string Names(List<string> names) =>
        string.Join(", ", names.Take(NamesShown)) + (names.Count > NamesShown ? ", ..." : "");
}
