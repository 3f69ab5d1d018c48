using System.Globalization;
using System.Text;
using Condense.Core;
using Google.Protobuf;
using Onnx;

namespace Condense.Vision.Teachers;

/// <summary>
/// Reads and edits ONNX graphs (through OnnxSharp's protobuf types) so a classifier can serve as a teacher:
/// list the values a user may pick as outputs, expose an intermediate value (a CNN's last spatial stage) as a graph
/// output, and free a batch or spatial size that the exporter pinned to a constant.
///
/// Deviations from a plain "set dim 0 to N" edit, needed by real exported CNNs:
/// - Every recorded <c>value_info</c> shape is dropped after a size edit (they pin batch 1 and the export size;
///   ONNX Runtime re-infers them).
/// - With a free spatial size, a pooling whose kernel covers its whole input at the export size (CNTK's ResNet18
///   ends in AveragePool 7x7) becomes the matching global pooling, and explicit asymmetric pads that equal
///   SAME_LOWER/SAME_UPPER at the export size (CNTK writes "same" padding as pads 3/3/2/2) become that auto_pad,
///   so odd-sized maps at other resolutions keep the two branches of a residual block the same size.
/// </summary>
public static class OnnxGraph
{
    /// <summary>Parses an ONNX file; a missing or unreadable file is an <see cref="InputException"/>.</summary>
    public static ModelProto Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: ONNX model not found");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses ONNX file contents; <paramref name="path"/> only names the file in errors.</summary>
    public static ModelProto Parse(byte[] bytes, string path)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            if (model.Graph is null || model.Graph.Node.Count == 0)
                throw new InputException($"{path}: not an ONNX model (no graph nodes)");
            return model;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InputException($"{path}: not an ONNX model ({ex.Message})", ex);
        }
    }

    /// <summary>Graph inputs that are real inputs, not initializers listed as inputs (IR version 3 does that).</summary>
    public static IReadOnlyList<ValueInfoProto> RealInputs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return [.. graph.Input.Where(i => !initializers.Contains(i.Name))];
    }

    /// <summary>The graph's real inputs, then every node output in graph order, with recorded shapes.</summary>
    public static IReadOnlyList<OnnxGraphValue> ListValues(string path) => ListValues(Load(path));

    /// <inheritdoc cref="ListValues(string)"/>
    public static IReadOnlyList<OnnxGraphValue> ListValues(ModelProto model)
    {
        var graph = model.Graph;
        var infos = ValueInfos(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var values = new List<OnnxGraphValue>();
        foreach (var input in RealInputs(graph)) values.Add(Describe(input.Name, "input", infos, outputs));
        foreach (var node in graph.Node)
        {
            foreach (var name in node.Output)
                if (name.Length > 0) values.Add(Describe(name, node.OpType, infos, outputs));
        }
        return values;
    }

    /// <summary>A multi-line listing for the command line: model facts, then one value per line.</summary>
    public static string Describe(string path)
    {
        var model = Load(path);
        var text = new StringBuilder();
        var opsets = string.Join(",", model.OpsetImport.Select(o => (o.Domain.Length == 0 ? "ai.onnx" : o.Domain)
            + ":" + o.Version.ToString(CultureInfo.InvariantCulture)));
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{path}: IR {model.IrVersion}, opsets {opsets}, producer {model.ProducerName}, {model.Graph.Node.Count} nodes");
        foreach (var value in ListValues(model)) text.AppendLine(value.ToString());
        return text.ToString();
    }

    /// <summary>
    /// Makes <paramref name="names"/> (graph outputs or intermediate values) the graph's outputs, in that order, and
    /// drops the other outputs so ONNX Runtime can prune what nothing reads. Every name must exist.
    /// </summary>
    public static void SetOutputs(ModelProto model, IReadOnlyList<string> names)
    {
        var graph = model.Graph;
        var infos = ValueInfos(graph);
        var inputType = RealInputs(graph).FirstOrDefault()?.Type?.TensorType?.ElemType ?? 1;
        var outputs = new List<ValueInfoProto>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (infos.TryGetValue(name, out var info) && info.Type?.TensorType is not null)
            {
                outputs.Add(info.Clone());
                continue;
            }
            if (!graph.Node.Any(n => n.Output.Contains(name)))
                throw new ArgumentException($"'{name}' is not a value of the graph", nameof(names));
            // No recorded type: declare the input's element type and let ONNX Runtime infer the shape.
            outputs.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = inputType } },
            });
        }
        graph.Output.Clear();
        graph.Output.AddRange(outputs);
    }

    /// <summary>
    /// Frees the batch dim (dim 0 of inputs and outputs becomes "N") and/or the spatial dims (dims 2 and 3 of rank-4
    /// inputs and outputs become symbolic; see the class notes for the pooling and padding rewrites). Returns one
    /// line per rewritten node. Call after <see cref="SetOutputs"/>.
    /// </summary>
    public static IReadOnlyList<string> MakeDynamic(ModelProto model, bool batch, bool spatial)
    {
        var notes = new List<string>();
        if (!batch && !spatial) return notes;
        var graph = model.Graph;
        if (spatial) RewriteForFreeSize(graph, notes);
        var all = RealInputs(graph).Concat(graph.Output).ToList();
        for (var k = 0; k < all.Count; k++)
        {
            var dims = all[k].Type?.TensorType?.Shape?.Dim;
            if (dims is null || dims.Count == 0) continue;
            if (batch) dims[0].DimParam = "N";
            if (spatial && dims.Count == 4)
            {
                dims[2].DimParam = "H" + k.ToString(CultureInfo.InvariantCulture);
                dims[3].DimParam = "W" + k.ToString(CultureInfo.InvariantCulture);
            }
        }
        graph.ValueInfo.Clear();
        return notes;
    }

    /// <summary>Serialized model, for <c>new InferenceSession(byte[])</c>.</summary>
    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();

    private static void RewriteForFreeSize(GraphProto graph, List<string> notes)
    {
        var infos = ValueInfos(graph);
        var weights = graph.Initializer.ToDictionary(t => t.Name, t => t, StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType is not ("Conv" or "MaxPool" or "AveragePool") || node.Input.Count == 0) continue;
            var inShape = FixedSpatial(infos, node.Input[0]);
            if (inShape is null) continue;
            var kernel = Ints(node, "kernel_shape");
            if (kernel is null && node.OpType == "Conv" && node.Input.Count > 1
                && weights.TryGetValue(node.Input[1], out var w) && w.Dims.Count == 4)
                kernel = [w.Dims[2], w.Dims[3]];
            if (kernel is null || kernel.Length != 2) continue;
            var pads = Ints(node, "pads") ?? [0, 0, 0, 0];
            var strides = Ints(node, "strides") ?? [1, 1];
            var dilations = Ints(node, "dilations") ?? [1, 1];
            var autoPad = node.Attribute.FirstOrDefault(a => a.Name == "auto_pad");
            var explicitPads = autoPad is null || autoPad.Type != AttributeProto.Types.AttributeType.String
                || autoPad.S.ToStringUtf8() is "" or "NOTSET";
            if (!explicitPads || pads.Length != 4) continue;

            if (node.OpType != "Conv" && pads.All(p => p == 0) && kernel[0] == inShape[0] && kernel[1] == inShape[1])
            {
                notes.Add($"{node.Name}: {node.OpType} {kernel[0]}x{kernel[1]} over a {inShape[0]}x{inShape[1]} map"
                    + $" -> Global{node.OpType}");
                node.OpType = "Global" + node.OpType;
                node.Attribute.Clear();
                continue;
            }
            if (pads[0] == pads[2] && pads[1] == pads[3]) continue;   // symmetric pads already keep ceil(n/s)
            foreach (var mode in new[] { "SAME_LOWER", "SAME_UPPER" })
            {
                if (!SamePads(inShape, kernel, strides, dilations, mode).SequenceEqual(pads)) continue;
                notes.Add($"{node.Name}: {node.OpType} pads {string.Join("/", pads)} -> auto_pad {mode}");
                node.Attribute.Remove(node.Attribute.First(a => a.Name == "pads"));
                if (autoPad is null)
                {
                    autoPad = new AttributeProto { Name = "auto_pad" };
                    node.Attribute.Add(autoPad);
                }
                autoPad.Type = AttributeProto.Types.AttributeType.String;
                autoPad.I = 0;
                autoPad.S = ByteString.CopyFromUtf8(mode);
                break;
            }
        }
    }

    /// <summary>ONNX "same" pads (begin0, begin1, end0, end1) at a given input size.</summary>
    private static long[] SamePads(long[] size, long[] kernel, long[] strides, long[] dilations, string mode)
    {
        var pads = new long[4];
        for (var a = 0; a < 2; a++)
        {
            var output = (size[a] + strides[a] - 1) / strides[a];
            var total = Math.Max(0, (output - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - size[a]);
            var small = total / 2;
            pads[a] = mode == "SAME_UPPER" ? small : total - small;
            pads[a + 2] = total - pads[a];
        }
        return pads;
    }

    private static long[]? Ints(NodeProto node, string name)
    {
        var attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
        return attribute is null || attribute.Ints.Count == 0 ? null : [.. attribute.Ints];
    }

    /// <summary>(H, W) of a rank-4 value whose spatial dims are recorded as constants, else null.</summary>
    private static long[]? FixedSpatial(Dictionary<string, ValueInfoProto> infos, string name)
    {
        if (!infos.TryGetValue(name, out var info)) return null;
        var dims = info.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 4) return null;
        if (dims[2].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            || dims[3].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue) return null;
        return [dims[2].DimValue, dims[3].DimValue];
    }

    internal static Dictionary<string, ValueInfoProto> ValueInfos(GraphProto graph)
    {
        var infos = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        foreach (var v in graph.ValueInfo.Concat(graph.Input).Concat(graph.Output)) infos[v.Name] = v;
        return infos;
    }

    /// <summary>Recorded dims of a value: numbers, symbolic names, "?" for unknown; null without a shape.</summary>
    internal static IReadOnlyList<string>? ShapeOf(ValueInfoProto? info)
    {
        var shape = info?.Type?.TensorType?.Shape;
        if (shape is null) return null;
        return [.. shape.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(CultureInfo.InvariantCulture),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
            _ => "?",
        })];
    }

    /// <summary>"float", "float16", ... for an ONNX element type number.</summary>
    internal static string ElementTypeName(int elemType) =>
        ((TensorProto.Types.DataType)elemType).ToString().ToLowerInvariant();

    private static OnnxGraphValue Describe(string name, string producer, Dictionary<string, ValueInfoProto> infos,
        HashSet<string> outputs)
    {
        infos.TryGetValue(name, out var info);
        var tensor = info?.Type?.TensorType;
        return new OnnxGraphValue(name, producer, ShapeOf(info),
            tensor is null || tensor.ElemType == 0 ? null : ElementTypeName(tensor.ElemType), outputs.Contains(name));
    }
}
