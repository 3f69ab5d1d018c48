// Builds an ONNX model (opset 17, the ai.onnx domain only) node by node from C#, through OnnxSharp's protobuf types.
// TorchSharp has no tracer and no ONNX export, so each model family writes its own graph with these primitives (see
// the *Onnx.cs files beside this one); the weights are copied from the module's state dict under their state-dict
// names, so a graph's initializers read `blocks.0.attn.qkv.weight` exactly as the checkpoint.
//
// Values are named "{scope}/{op}_{n}" so a graph viewer (Netron) shows which module a node comes from.
using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>An ONNX graph under construction: inputs, initializers, nodes and outputs.</summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>The opset every exported graph declares (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    private readonly GraphProto graph = new() { Name = "condense" };
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);
    private readonly Stack<string> scopes = new();
    private int counter;

    /// <summary>Names the nodes added until the returned handle is disposed after a module path, e.g. "blocks.3.attn".</summary>
    public IDisposable Scope(string name)
    {
        scopes.Push(name);
        return new PopScope(scopes);
    }

    /// <summary>Declares a float32 graph input; a dim is a size (long/int) or a symbolic name (string).</summary>
    public string Input(string name, params object[] dims)
    {
        Claim(name);
        graph.Input.Add(ValueInfo(name, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as the graph output <paramref name="name"/> (through an Identity).</summary>
    public void Output(string value, string name, params object[] dims)
    {
        Claim(name);
        graph.Node.Add(new NodeProto { OpType = "Identity", Name = name + "/Identity", Input = { value }, Output = { name } });
        graph.Output.Add(ValueInfo(name, dims));
    }

    /// <summary>A float32 initializer with the values of <paramref name="tensor"/> (any dtype, converted).</summary>
    public string Weight(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var t = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = t.data<float>().ToArray();
        var proto = new TensorProto
        {
            Name = Unique(name),
            DataType = (int)TensorProto.Types.DataType.Float,
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
        };
        proto.Dims.AddRange(t.shape);
        return AddInitializer(proto);
    }

    /// <summary>A 1-D int64 constant (shapes, axes, indices); equal constants are shared.</summary>
    public string Ints(params long[] values) => Constant("i64:" + string.Join(",", values), () =>
    {
        var proto = new TensorProto { Name = Unique("const_i64"), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        return proto;
    });

    /// <summary>A 0-D int64 constant.</summary>
    public string IntScalar(long value) => Constant("i64s:" + value.ToString(CultureInfo.InvariantCulture), () =>
    {
        var proto = new TensorProto { Name = Unique("const_i64"), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Int64Data.Add(value);
        return proto;
    });

    /// <summary>A 0-D float32 constant; equal constants are shared.</summary>
    public string Scalar(float value) => Constant("f32:" + BitConverter.SingleToInt32Bits(value).ToString(CultureInfo.InvariantCulture), () =>
    {
        var proto = new TensorProto { Name = Unique("const_f32"), DataType = (int)TensorProto.Types.DataType.Float };
        proto.FloatData.Add(value);
        return proto;
    });

    /// <summary>Adds a node with one output; attributes are (name, long | float | string | long[] | float[]).</summary>
    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        OpN(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs.</summary>
    public string[] OpN(string opType, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        string prefix = scopes.Count > 0 ? scopes.Peek() + "/" : "";
        var node = new NodeProto { OpType = opType, Name = Unique($"{prefix}{opType}") };
        node.Input.AddRange(inputs);
        var result = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            result[i] = Unique($"{prefix}{opType}_out");
            node.Output.Add(result[i]);
        }
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        graph.Node.Add(node);
        return result;
    }

    /// <summary>The finished model: IR version 8, opset 17, producer "condense", with the given metadata.</summary>
    public ModelProto Build(string docString, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "condense",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private string Constant(string key, Func<TensorProto> create)
    {
        if (constants.TryGetValue(key, out var name)) return name;
        name = AddInitializer(create());
        constants[key] = name;
        return name;
    }

    private string AddInitializer(TensorProto proto)
    {
        graph.Initializer.Add(proto);
        return proto.Name;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new ArgumentException($"ONNX value name '{name}' is used twice", nameof(name));
    }

    private string Unique(string name)
    {
        var candidate = name;
        while (!names.Add(candidate))
            candidate = name + "_" + (++counter).ToString(CultureInfo.InvariantCulture);
        return candidate;
    }

    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"dim {d} of '{name}' is neither a size nor a name", nameof(dims)),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case int[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints.Select(v => (long)v)); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            default: throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}", nameof(value));
        }
        return a;
    }

    private sealed class PopScope(Stack<string> scopes) : IDisposable
    {
        public void Dispose() => scopes.Pop();
    }
}
