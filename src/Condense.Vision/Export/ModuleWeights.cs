// A module's state dict, read by name while a graph is written, and the check that the graph used every parameter:
// an exporter that forgets one (a layer scale, a bias) fails at export instead of writing a graph that is silently
// different from the model.
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Export;

/// <summary>The tensors of a module by state-dict name, with a record of which parameters were read.</summary>
public sealed class ModuleWeights
{
    private readonly Dictionary<string, Tensor> tensors;
    private readonly Dictionary<string, Module> modules;
    private readonly HashSet<string> parameters;
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    /// <summary>The weights of <paramref name="root"/> (not copied: keep the module alive while exporting).</summary>
    public ModuleWeights(Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
        tensors = root.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        modules = root.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        parameters = root.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The module whose weights these are.</summary>
    public Module Root { get; }

    /// <summary>The tensor named <paramref name="name"/>; a missing name is an error naming it.</summary>
    public Tensor this[string name]
    {
        get
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new InvalidOperationException($"the model has no tensor '{name}' (ONNX exporter and model disagree)");
            used.Add(name);
            return t;
        }
    }

    /// <summary>Whether the state dict holds <paramref name="name"/>.</summary>
    public bool Has(string name) => tensors.ContainsKey(name);

    /// <summary>The submodule at <paramref name="path"/> ("levels.2.blocks.0.attn.pos_emb_funct").</summary>
    public T Module<T>(string path) where T : Module
    {
        if (!modules.TryGetValue(path, out var m))
            throw new InvalidOperationException($"the model has no module '{path}' (ONNX exporter and model disagree)");
        return m as T ?? throw new InvalidOperationException($"module '{path}' is a {m.GetType().Name}, not a {typeof(T).Name}");
    }

    /// <summary>Marks every parameter under <paramref name="prefix"/> as used (a constant computed from them at export).</summary>
    public void MarkUsed(string prefix)
    {
        foreach (var p in parameters)
            if (p.StartsWith(prefix + ".", StringComparison.Ordinal)) used.Add(p);
    }

    /// <summary>Throws when a parameter was never read: the graph would not be the model.</summary>
    public void EnsureAllParametersUsed(string modelName)
    {
        var missed = parameters.Where(p => !used.Contains(p)).Order(StringComparer.Ordinal).ToList();
        if (missed.Count > 0)
            throw new InvalidOperationException(
                $"ONNX export of {modelName} left {missed.Count} parameter(s) out of the graph: {string.Join(", ", missed.Take(8))}");
    }
}
