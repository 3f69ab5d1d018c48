// Hugging Face LLaMA directories: config.json (LlamaConfig fields of transformers) plus model.safetensors, or
// shards listed in model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor: file}}). Tensor
// names are LlamaForCausalLM's (model.layers.N.self_attn.q_proj.weight, ...), q/k rows in rotate-half layout.
//
// Deviations: only what this runtime models is accepted: model_type "llama", hidden_act "silu", no biases,
// rope_theta 10000 without rope_scaling, head_dim = hidden_size / num_attention_heads; anything else is an
// error naming the field. Pruned sub-layers are stored in the extra config fields
// "condense_removed_attention" / "condense_removed_mlp" (lists of layer indices), which transformers ignores.
// A tied model's file may also hold lm_head.weight (some exporters write it); it is ignored.
using System.Text.Json;
using System.Text.Json.Nodes;
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Checkpoints;

/// <summary>Reads and writes Hugging Face LLaMA checkpoint directories.</summary>
public static class HfLlamaCheckpoint
{
    /// <summary>File name of the model configuration in a checkpoint directory.</summary>
    public const string ConfigFile = "config.json";
    /// <summary>File name of the weights when they are stored in a single file.</summary>
    public const string WeightsFile = "model.safetensors";
    /// <summary>File name of the shard index (tensor name to shard file) of a sharded checkpoint.</summary>
    public const string IndexFile = "model.safetensors.index.json";
    /// <summary>Config field listing the layers whose attention sub-layer was pruned.</summary>
    public const string RemovedAttentionKey = "condense_removed_attention";
    /// <summary>Config field listing the layers whose MLP sub-layer was pruned.</summary>
    public const string RemovedMlpKey = "condense_removed_mlp";
    /// <summary>Config field giving each layer's MLP width (an elastic sub-network; absent when all are intermediate_size).</summary>
    public const string LayerHiddenDimsKey = "condense_layer_intermediate_sizes";
    /// <summary>Config field giving each layer's KV heads (absent when all are num_key_value_heads).</summary>
    public const string LayerKvHeadsKey = "condense_layer_num_key_value_heads";

    /// <summary>config.json field: per layer, the query heads kept (written only when some layer keeps fewer per KV head).</summary>
    public const string LayerQueryHeadsKey = "condense_layer_num_attention_heads";

    // A key written twice is an error in the file, not the last one winning (and JsonObject would throw on it later).
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    /// <summary>The configuration in <paramref name="dir"/>/config.json (RopeLayout.RotateHalf).</summary>
    public static LlamaConfig ReadConfig(string dir)
    {
        var path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new InputException($"{path}: config.json not found (not a Hugging Face model directory)");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path), documentOptions: StrictJson) as JsonObject
                ?? throw new InputException($"{path}: config.json is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{path}: invalid JSON ({ex.Message.Split('\n')[0]})", ex);
        }
        string? Str(string key) => json[key]?.GetValueKind() == JsonValueKind.String ? json[key]!.GetValue<string>() : null;
        int Int(string key, int? fallback = null)
        {
            var node = json[key];
            if (node is null || node.GetValueKind() == JsonValueKind.Null)
                return fallback ?? throw new InputException($"{path}: missing field \"{key}\"");
            return node.GetValueKind() == JsonValueKind.Number && node.AsValue().TryGetValue<int>(out var v)
                ? v : throw new InputException($"{path}: field \"{key}\" is {node.ToJsonString()}, expected an integer");
        }
        double Num(string key, double fallback)
        {
            var node = json[key];
            if (node is null || node.GetValueKind() == JsonValueKind.Null) return fallback;
            return node.GetValueKind() == JsonValueKind.Number ? node.GetValue<double>()
                : throw new InputException($"{path}: field \"{key}\" is {node.ToJsonString()}, expected a number");
        }
        bool Flag(string key, bool fallback)
        {
            var node = json[key];
            if (node is null || node.GetValueKind() == JsonValueKind.Null) return fallback;
            return node.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? node.GetValue<bool>()
                : throw new InputException($"{path}: field \"{key}\" is {node.ToJsonString()}, expected true or false");
        }
        int[]? Layers(string key)
        {
            var node = json[key];
            if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
            try
            {
                return node.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new InputException($"{path}: field \"{key}\" is {node.ToJsonString()}, expected a list of integers", ex);
            }
        }

        if (Str("model_type") is { } type && type != "llama")
            throw new InputException($"{path}: model_type \"{type}\" is not supported (only \"llama\")");
        if (Str("hidden_act") is { } act && act != "silu")
            throw new InputException($"{path}: hidden_act \"{act}\" is not supported (only \"silu\")");
        if (Flag("attention_bias", false) || Flag("mlp_bias", false))
            throw new InputException($"{path}: attention_bias/mlp_bias are not supported");
        double theta = Num("rope_theta", LlamaConfig.RopeTheta);
        if (theta != LlamaConfig.RopeTheta)
            throw new InputException($"{path}: rope_theta {theta} is not supported (only {LlamaConfig.RopeTheta})");
        if (json["rope_scaling"] is { } scaling && scaling.GetValueKind() != JsonValueKind.Null)
            throw new InputException($"{path}: rope_scaling {scaling.ToJsonString()} is not supported");
        int hidden = Int("hidden_size"), heads = Int("num_attention_heads");
        var config = new LlamaConfig(
            Dim: hidden,
            HiddenDim: Int("intermediate_size"),
            NLayers: Int("num_hidden_layers"),
            NHeads: heads,
            NKvHeads: Int("num_key_value_heads", heads),
            VocabSize: Int("vocab_size"),
            MaxSeqLen: Int("max_position_embeddings"),
            NormEps: Num("rms_norm_eps", 1e-6),
            TiedEmbeddings: Flag("tie_word_embeddings", false),
            RopeLayout: RopeLayout.RotateHalf,
            RemovedAttention: Layers(RemovedAttentionKey),
            RemovedMlp: Layers(RemovedMlpKey),
            LayerHiddenDims: Layers(LayerHiddenDimsKey),
            LayerKvHeads: Layers(LayerKvHeadsKey),
            LayerQueryHeads: Layers(LayerQueryHeadsKey));
        if (hidden > 0 && heads > 0 && Int("head_dim", hidden / heads) != hidden / heads)
            throw new InputException($"{path}: head_dim {Int("head_dim")} differs from hidden_size / num_attention_heads = {hidden / heads}");
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"{path}: {LlamaConfig.InFieldNames(ex.Message, FieldNames)}", ex);
        }
        return config;
    }

    // config.json's name for each LlamaConfig size, so an error names the field the user can see.
    private static readonly Dictionary<string, string> FieldNames = new(StringComparer.Ordinal)
    {
        ["Dim"] = "hidden_size", ["HiddenDim"] = "intermediate_size", ["NLayers"] = "num_hidden_layers",
        ["NHeads"] = "num_attention_heads", ["NKvHeads"] = "num_key_value_heads", ["VocabSize"] = "vocab_size",
        ["MaxSeqLen"] = "max_position_embeddings", ["NormEps"] = "rms_norm_eps",
        ["LayerHiddenDims"] = LayerHiddenDimsKey, ["LayerKvHeads"] = LayerKvHeadsKey,
        ["LayerQueryHeads"] = LayerQueryHeadsKey,
    };

    /// <summary>Loads a Hugging Face LLaMA directory (single file or sharded) into an eval-mode model.</summary>
    public static LlamaForCausalLM Read(string dir)
    {
        var config = ReadConfig(dir);
        var files = WeightFiles(dir);
        // The weights must at least hold one byte per parameter the config describes: a config claiming more is
        // refused here, before the model's tensors are allocated.
        long bytes = files.Select(f => f.File).Distinct().Sum(FileBytes);
        if (bytes < config.ParameterCount())
            throw new InputException($"{Path.Combine(dir, ConfigFile)}: describes {config.ParameterCount():N0} parameters, " +
                $"but the weight files hold only {bytes:N0} bytes");
        var model = new LlamaForCausalLM(config);
        try
        {
            LoadWeights(model, files, dir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    // FileInfo.Length of a symbolic link is the link's own size; the opened file has the target's.
    private static long FileBytes(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        return stream.Length;
    }

    private static void LoadWeights(LlamaForCausalLM model, List<(string File, HashSet<string>? Names)> files, string dir)
    {
        var config = model.Config;
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var targets = model.state_dict();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, expected) in files)
        {
            using var content = Safetensors.Load(file);
            foreach (var (name, source) in content.Tensors)
            {
                if (expected is not null && !expected.Contains(name)) continue;
                if (config.TiedEmbeddings && name == "lm_head.weight") continue;
                if (!targets.TryGetValue(name, out var target))
                    throw new InputException($"{file}: unexpected tensor '{name}' for this config ({ConfigFile} in {dir})");
                if (!source.shape.SequenceEqual(target.shape))
                    throw new InputException($"{file}: tensor '{name}' has shape [{string.Join(", ", source.shape)}], " +
                        $"{ConfigFile} implies [{string.Join(", ", target.shape)}]");
                target.copy_(source.to_type(target.dtype));
                seen.Add(name);
            }
        }
        var missing = targets.Keys.Where(k => !seen.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new InputException($"{dir}: {missing.Count} tensors missing from the weights ({string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", ..." : "")})");
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="dir"/> (created if needed) as config.json plus
    /// model.safetensors, or, when <paramref name="maxShardBytes"/> is given and exceeded, as numbered shards
    /// with model.safetensors.index.json. Interleaved q/k rows are permuted to rotate-half. Files are atomic.
    /// </summary>
    public static void Write(LlamaForCausalLM model, string dir, long? maxShardBytes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(dir);
        var hf = model.Config.RopeLayout == RopeLayout.RotateHalf ? model : LlamaConversion.ToLayout(model, RopeLayout.RotateHalf);
        try
        {
            var tensors = hf.state_dict().OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
            var metadata = new Dictionary<string, string> { ["format"] = "pt" };
            long total = tensors.Sum(t => t.Value.numel() * t.Value.ElementSize);
            foreach (var stale in new[] { WeightsFile, IndexFile })
                if (File.Exists(Path.Combine(dir, stale))) File.Delete(Path.Combine(dir, stale));
            if (maxShardBytes is not long limit || total <= limit)
            {
                Safetensors.Save(Path.Combine(dir, WeightsFile), tensors.ToDictionary(), metadata);
            }
            else
            {
                var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
                long size = 0;
                foreach (var t in tensors)
                {
                    long bytes = t.Value.numel() * t.Value.ElementSize;
                    if (size > 0 && size + bytes > limit)
                    {
                        shards.Add([]);
                        size = 0;
                    }
                    shards[^1].Add(t);
                    size += bytes;
                }
                var weightMap = new JsonObject();
                for (int i = 0; i < shards.Count; i++)
                {
                    var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                    Safetensors.Save(Path.Combine(dir, name), shards[i].ToDictionary(), metadata);
                    foreach (var (key, _) in shards[i]) weightMap[key] = name;
                }
                var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
                AtomicFile.WriteAllText(Path.Combine(dir, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), ConfigJson(model.Config));
        }
        finally
        {
            if (!ReferenceEquals(hf, model)) hf.Dispose();
        }
    }

    /// <summary>The config.json text for <paramref name="config"/> (transformers' LlamaConfig field names).</summary>
    public static string ConfigJson(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = config.Dim,
            ["intermediate_size"] = config.HiddenDim,
            ["num_hidden_layers"] = config.NLayers,
            ["num_attention_heads"] = config.NHeads,
            ["num_key_value_heads"] = config.NKvHeads,
            ["vocab_size"] = config.VocabSize,
            ["max_position_embeddings"] = config.MaxSeqLen,
            ["rms_norm_eps"] = config.NormEps,
            ["rope_theta"] = LlamaConfig.RopeTheta,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = config.TiedEmbeddings,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["torch_dtype"] = "float32",
        };
        if (config.RemovedAttention is { Count: > 0 } attn)
            json[RemovedAttentionKey] = new JsonArray(attn.Order().Select(i => (JsonNode)i).ToArray());
        if (config.RemovedMlp is { Count: > 0 } mlp)
            json[RemovedMlpKey] = new JsonArray(mlp.Order().Select(i => (JsonNode)i).ToArray());
        if (config.HasLayerWidths)
        {
            json[LayerHiddenDimsKey] = new JsonArray(Enumerable.Range(0, config.NLayers).Select(i => (JsonNode)config.MlpWidth(i)).ToArray());
            json[LayerKvHeadsKey] = new JsonArray(Enumerable.Range(0, config.NLayers).Select(i => (JsonNode)config.KvHeads(i)).ToArray());
            if (config.LayerQueryHeads is not null)
                json[LayerQueryHeadsKey] = new JsonArray(Enumerable.Range(0, config.NLayers).Select(i => (JsonNode)config.QueryHeads(i)).ToArray());
        }
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The weight files to read and, for shards, which tensors each should hold per the index.</summary>
    private static List<(string File, HashSet<string>? Names)> WeightFiles(string dir)
    {
        var single = Path.Combine(dir, WeightsFile);
        var indexPath = Path.Combine(dir, IndexFile);
        if (File.Exists(single)) return [(single, null)];
        if (!File.Exists(indexPath))
            throw new InputException($"{dir}: neither {WeightsFile} nor {IndexFile} found");
        JsonObject map;
        try
        {
            map = (JsonNode.Parse(File.ReadAllText(indexPath), documentOptions: StrictJson)?["weight_map"] as JsonObject)
                ?? throw new InputException($"{indexPath}: no \"weight_map\" object");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{indexPath}: invalid JSON ({ex.Message.Split('\n')[0]})", ex);
        }
        var byFile = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (name, fileNode) in map)
        {
            var file = fileNode?.GetValueKind() == JsonValueKind.String ? fileNode.GetValue<string>()
                : throw new InputException($"{indexPath}: weight_map entry '{name}' is not a file name");
            if (file.Contains('/') || file.Contains('\\') || file.Contains(".."))
                throw new InputException($"{indexPath}: weight_map entry '{name}' points outside the directory: {file}");
            if (!byFile.TryGetValue(file, out var names)) byFile[file] = names = new HashSet<string>(StringComparer.Ordinal);
            names.Add(name);
        }
        return byFile.OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => (Path.Combine(dir, f.Key), (HashSet<string>?)f.Value)).ToList();
    }
}
