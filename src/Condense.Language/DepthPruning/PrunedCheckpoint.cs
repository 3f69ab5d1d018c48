// A depth-pruned model on disk, as a folder:
//   model/                 a Hugging Face LLaMA directory written by the runtime (HfLlamaCheckpoint) whose config
//                          lists the removed sub-layers (condense_removed_attention / condense_removed_mlp): those
//                          layers have no weights and no KV cache, and every LLaMA command of Condense runs it;
//   recovery.safetensors   the stand-in updates of removed units (MeanUpdateBias / LowRankAdapter tensors, named
//                          "<unit>.<parameter>", e.g. "attn3.bias"), and in __metadata__ "depth_pruning": the unit
//                          granularity, the removed units and each stand-in's kind. Written even without recovery.
// The runtime's pruned-layer config has no slot for a constant or low-rank stand-in, so recovery lives in this
// side file and runs through UnitNetwork (Load below); without recovery.safetensors the model folder is complete.
using System.Text.Json;
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Saves and loads depth-pruned models: a Hugging Face model folder plus the recovery stand-ins.</summary>
public static class PrunedCheckpoint
{
    /// <summary>Name of the subfolder holding the pruned Hugging Face model.</summary>
    public const string ModelFolder = "model";
    /// <summary>File name of the stand-in updates of removed units.</summary>
    public const string RecoveryFile = "recovery.safetensors";
    /// <summary>Key of the recovery file's metadata entry (granularity, removed units, stand-in kinds).</summary>
    public const string MetadataKey = "depth_pruning";

    private sealed record Manifest(string Granularity, string[] Removed, Dictionary<string, string> Recovery,
        Dictionary<string, long> AdapterRanks);

    /// <summary>
    /// A model with the sub-layers of the units missing from <paramref name="keep"/> taken out (config lists them;
    /// no weights, no KV cache), the other weights copied from the network's model.
    /// </summary>
    public static LlamaForCausalLM BuildPruned(UnitNetwork network, ulong keep)
    {
        ArgumentNullException.ThrowIfNull(network);
        var removedAttention = new SortedSet<int>();
        var removedMlp = new SortedSet<int>();
        var config = network.Config;
        for (int i = 0; i < config.NLayers; i++)
        {
            if (!config.HasAttention(i)) removedAttention.Add(i);
            if (!config.HasMlp(i)) removedMlp.Add(i);
        }
        for (int u = 0; u < network.Units.Count; u++)
        {
            if ((keep & (1UL << u)) != 0) continue;
            var unit = network.Units[u];
            if (unit.Kind != UnitKind.Mlp) removedAttention.Add(unit.Layer);
            if (unit.Kind != UnitKind.Attention) removedMlp.Add(unit.Layer);
        }
        var pruned = new LlamaForCausalLM(config with { RemovedAttention = [.. removedAttention], RemovedMlp = [.. removedMlp] });
        var source = network.Model.state_dict();
        using (no_grad())
        {
            foreach (var (name, target) in pruned.state_dict())
                target.copy_(source[name]);
        }
        pruned.eval();
        return pruned;
    }

    /// <summary>Writes the pruned model and the network's stand-ins for removed units into <paramref name="dir"/>.</summary>
    public static void Save(string dir, UnitNetwork network, ulong keep)
    {
        ArgumentNullException.ThrowIfNull(network);
        Directory.CreateDirectory(dir);
        using (var pruned = BuildPruned(network, keep)) HfLlamaCheckpoint.Write(pruned, Path.Combine(dir, ModelFolder));
        var tensors = new Dictionary<string, Tensor>();
        var kinds = new Dictionary<string, string>();
        var ranks = new Dictionary<string, long>();
        foreach (var (u, replacement) in network.Replacements.OrderBy(r => r.Key))
        {
            if ((keep & (1UL << u)) != 0) continue;
            var name = network.Units[u].Name;
            kinds[name] = replacement.Kind;
            if (replacement is LowRankAdapter a) ranks[name] = a.Rank;
            foreach (var (p, t) in replacement.state_dict()) tensors[$"{name}.{p}"] = t;
        }
        var removed = Enumerable.Range(0, network.Units.Count).Where(u => (keep & (1UL << u)) == 0)
            .Select(u => network.Units[u].Name).ToArray();
        var manifest = new Manifest(network.Granularity.ToString().ToLowerInvariant(), removed, kinds, ranks);
        Safetensors.Save(Path.Combine(dir, RecoveryFile), tensors,
            new Dictionary<string, string> { [MetadataKey] = JsonSerializer.Serialize(manifest) });
    }

    /// <summary>
    /// Reads a folder written by <see cref="Save"/> (or a plain LLaMA checkpoint): the network, with stand-ins
    /// installed, and the units it keeps.
    /// </summary>
    public static (UnitNetwork Network, ulong Keep) Load(string path, UnitGranularity defaultGranularity = UnitGranularity.Sublayer)
    {
        var recovery = Path.Combine(path, RecoveryFile);
        if (!Directory.Exists(path) || !File.Exists(recovery))
        {
            var plain = new UnitNetwork(LlamaCheckpoint.Load(path), defaultGranularity);
            return (plain, KeptUnits(plain));
        }
        using var content = Safetensors.Load(recovery);
        if (!content.Metadata.TryGetValue(MetadataKey, out var json))
            throw new InputException($"{recovery}: no '{MetadataKey}' metadata");
        Manifest manifest;
        try { manifest = JsonSerializer.Deserialize<Manifest>(json) ?? throw new JsonException("null"); }
        catch (JsonException ex) { throw new InputException($"{recovery}: bad '{MetadataKey}' metadata: {ex.Message}"); }
        var granularity = manifest.Granularity switch
        {
            "block" => UnitGranularity.Block,
            "sublayer" => UnitGranularity.Sublayer,
            _ => throw new InputException($"{recovery}: unknown unit granularity '{manifest.Granularity}'"),
        };
        var model = LlamaCheckpoint.Load(Path.Combine(path, ModelFolder));
        var network = new UnitNetwork(model, granularity);
        var byName = Enumerable.Range(0, network.Units.Count).ToDictionary(u => network.Units[u].Name);
        foreach (var (name, kind) in manifest.Recovery)
        {
            if (!byName.TryGetValue(name, out var u)) throw new InputException($"{recovery}: unknown unit '{name}'");
            UnitReplacement replacement = kind switch
            {
                "mean-bias" => new MeanUpdateBias(Tensor(content, recovery, $"{name}.bias")),
                "adapter" => new LowRankAdapter(model.Config.Dim, (int)manifest.AdapterRanks.GetValueOrDefault(name, 1)),
                _ => throw new InputException($"{recovery}: unknown recovery kind '{kind}' for {name}"),
            };
            using (no_grad())
            {
                foreach (var (p, t) in replacement.state_dict())
                {
                    var source = Tensor(content, recovery, $"{name}.{p}");
                    if (!source.shape.SequenceEqual(t.shape))
                        throw new InputException($"{recovery}: '{name}.{p}' has shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", t.shape)}]");
                    t.copy_(source);
                }
            }
            network.Replacements[u] = replacement;
        }
        return (network, KeptUnits(network));
    }

    private static ulong KeptUnits(UnitNetwork network) =>
        Enumerable.Range(0, network.Units.Count).Where(network.HasWeights).Aggregate(0UL, (m, u) => m | (1UL << u));

    private static Tensor Tensor(Condense.Core.Checkpoints.SafetensorsContent content, string file, string name) =>
        content.Tensors.TryGetValue(name, out var t) ? t : throw new InputException($"{file}: missing tensor '{name}'");
}
