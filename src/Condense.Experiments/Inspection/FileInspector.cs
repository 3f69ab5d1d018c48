// What a model file holds, whatever format Condense reads or writes: GGUF (llama.cpp), ONNX, safetensors (Condense checkpoints,
// Hugging Face weights) and llama2.c checkpoints; a Hugging Face folder is read through its safetensors file. Shapes
// are row-major (PyTorch order) for every format; GGUF stores them fastest-first, so its ne are reversed here.
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Core.IO.Gguf;
using Condense.Language.Checkpoints;
using Condense.Language.Models;

namespace Condense.Experiments.Inspection;

/// <summary>One tensor of an inspected file.</summary>
/// <param name="Name">Its name in the file.</param>
/// <param name="Dtype">Stored type (f32, f16, q8_0, F32, BF16, ...).</param>
/// <param name="Shape">Row-major shape.</param>
/// <param name="Bytes">Stored bytes.</param>
public sealed record InspectedTensor(string Name, string Dtype, long[] Shape, long Bytes);

/// <summary>What an inspected file holds.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Format">gguf, onnx, safetensors or llama2c.</param>
/// <param name="Bytes">File size.</param>
/// <param name="Architecture">Model architecture where the file says (GGUF general.architecture; llama for llama2.c).</param>
/// <param name="Parameters">Values over all tensors.</param>
/// <param name="Metadata">Header fields and metadata, as text (long arrays abbreviated).</param>
/// <param name="Tensors">Tensors in file order.</param>
public sealed record FileInspection(string Path, string Format, long Bytes, string? Architecture, long Parameters,
    IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<InspectedTensor> Tensors);

/// <summary>Reads the header of a model file and describes it.</summary>
public static class FileInspector
{
    /// <summary>Inspects <paramref name="path"/>; an unreadable, corrupt or unknown file is an <see cref="InputException"/> naming it.</summary>
    public static FileInspection Inspect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            var weights = Path.Combine(path, "model.safetensors");
            if (!File.Exists(weights)) throw new InputException($"{path}: a folder without model.safetensors; give a file");
            path = weights;
        }
        if (!File.Exists(path)) throw new InputException($"{path}: file not found");
        long size = new FileInfo(path).Length;
        if (size >= 4 && GgufFile.HasMagic(path)) return Gguf(path, size);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafetensorsFile(path, size);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return Onnx(path, size);
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return Gguf(path, size);   // names the missing magic
        return Llama2c(path, size);
    }

    private static FileInspection Gguf(string path, long size)
    {
        var file = GgufFile.Read(path);
        var metadata = new Dictionary<string, string> { ["gguf.version"] = file.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (key, value) in file.Metadata) metadata[key] = value.ToString();
        var tensors = file.Tensors.Select(t => new InspectedTensor(t.Name, t.Type.ToString().ToLowerInvariant(), t.Ne.Reverse().ToArray(), t.Bytes)).ToList();
        return new FileInspection(Path.GetFullPath(path), "gguf", size, file.Get("general.architecture")?.Value as string,
            file.Tensors.Sum(t => t.Count), metadata, tensors);
    }

    // An ONNX model: graph inputs and outputs with their shapes, opsets, op counts and metadata; initializers as tensors.
    private static FileInspection Onnx(string path, long size)
    {
        var model = Condense.Vision.Teachers.OnnxGraph.Load(path);
        var graph = model.Graph;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        static string Shape(global::Onnx.ValueInfoProto v) => "(" + string.Join(", ", v.Type?.TensorType?.Shape?.Dim
            .Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)) ?? []) + ")";
        var metadata = new Dictionary<string, string>
        {
            ["onnx.ir_version"] = model.IrVersion.ToString(inv),
            ["onnx.opsets"] = string.Join(", ", model.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)}:{o.Version}")),
            ["onnx.producer"] = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            ["onnx.nodes"] = graph.Node.Count.ToString(inv),
            ["onnx.ops"] = string.Join(", ", graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key} {g.Count()}")),
        };
        foreach (var input in Condense.Vision.Teachers.OnnxGraph.RealInputs(graph)) metadata[$"input.{input.Name}"] = Shape(input);
        foreach (var output in graph.Output) metadata[$"output.{output.Name}"] = Shape(output);
        foreach (var prop in model.MetadataProps) metadata[prop.Key] = prop.Value;
        var tensors = graph.Initializer.Select(t =>
        {
            var type = (global::Onnx.TensorProto.Types.DataType)t.DataType;
            long count = t.Dims.Aggregate(1L, (n, d) => n * d);
            var length = t.ExternalData.FirstOrDefault(e => e.Key == "length")?.Value;
            long bytes = length is not null ? long.Parse(length, inv) : t.RawData.Length > 0 ? t.RawData.Length : count * type switch
            {
                global::Onnx.TensorProto.Types.DataType.Double or global::Onnx.TensorProto.Types.DataType.Int64 => 8,
                global::Onnx.TensorProto.Types.DataType.Float16 or global::Onnx.TensorProto.Types.DataType.Bfloat16 => 2,
                global::Onnx.TensorProto.Types.DataType.Int8 or global::Onnx.TensorProto.Types.DataType.Uint8 or global::Onnx.TensorProto.Types.DataType.Bool => 1,
                _ => 4,
            };
            return new InspectedTensor(t.Name, type.ToString().ToLowerInvariant() + (length is null ? "" : " (external)"), [.. t.Dims], bytes);
        }).ToList();
        string? architecture = model.MetadataProps.FirstOrDefault(m => m.Key == "condense.model")?.Value;
        return new FileInspection(Path.GetFullPath(path), "onnx", size, architecture, tensors.Sum(t => t.Shape.Aggregate(1L, (n, d) => n * d)), metadata, tensors);
    }

    private static FileInspection SafetensorsFile(string path, long size)
    {
        var header = Safetensors.ReadHeader(path);
        var tensors = header.Tensors.Select(t => new InspectedTensor(t.Name, t.DType, t.Shape, t.ByteCount)).ToList();
        return new FileInspection(Path.GetFullPath(path), "safetensors", size, null, header.Tensors.Sum(t => t.ElementCount),
            header.Metadata.ToDictionary(), tensors);
    }

    private static FileInspection Llama2c(string path, long size)
    {
        LlamaConfig config;
        try
        {
            config = Llama2cCheckpoint.ReadConfig(path);
        }
        catch (InputException)
        {
            throw new InputException($"{path}: not a GGUF, safetensors or llama2.c file");
        }
        long D = config.Dim, H = config.HiddenDim, L = config.NLayers, V = config.VocabSize, S = config.MaxSeqLen, hs = config.HeadDim;
        long kv = config.NKvHeads * hs;
        var shapes = new List<(string, long[])>
        {
            ("tok_embeddings", [V, D]), ("rms_att", [L, D]), ("wq", [L, D, D]), ("wk", [L, kv, D]), ("wv", [L, kv, D]),
            ("wo", [L, D, D]), ("rms_ffn", [L, D]), ("w1", [L, H, D]), ("w2", [L, D, H]), ("w3", [L, H, D]), ("rms_final", [D]),
            ("freq_cis_real", [S, hs / 2]), ("freq_cis_imag", [S, hs / 2]),
        };
        if (!config.TiedEmbeddings) shapes.Add(("wcls", [V, D]));
        var tensors = shapes.Select(s => new InspectedTensor(s.Item1, "f32", s.Item2, 4 * s.Item2.Aggregate(1L, (a, b) => a * b))).ToList();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["dim"] = D.ToString(inv), ["hidden_dim"] = H.ToString(inv), ["n_layers"] = L.ToString(inv),
            ["n_heads"] = config.NHeads.ToString(inv), ["n_kv_heads"] = config.NKvHeads.ToString(inv), ["vocab_size"] = V.ToString(inv),
            ["seq_len"] = S.ToString(inv), ["shared_classifier"] = config.TiedEmbeddings ? "true" : "false",
        };
        return new FileInspection(Path.GetFullPath(path), "llama2c", size, "llama", config.ParameterCount(), metadata, tensors);
    }
}
