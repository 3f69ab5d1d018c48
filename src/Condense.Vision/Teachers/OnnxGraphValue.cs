namespace Condense.Vision.Teachers;

/// <summary>
/// One named value of an ONNX graph, as listed by <c>OnnxGraph.ListValues</c>: a graph input or the output
/// of a node. Any of them can be chosen as a teacher's summary or feature output.
/// </summary>
/// <param name="Name">The value's name in the graph.</param>
/// <param name="Producer">"input" for a graph input, else the op type of the node that computes it ("Conv").</param>
/// <param name="Shape">Dimensions as recorded in the file (a symbolic dim as its name, an unknown one as "?"),
/// or null when the file records no shape for it.</param>
/// <param name="ElementType">ONNX element type name ("float", "float16", ...), or null when unrecorded.</param>
/// <param name="IsGraphOutput">Whether it already is an output of the graph.</param>
public sealed record OnnxGraphValue(string Name, string Producer, IReadOnlyList<string>? Shape, string? ElementType,
    bool IsGraphOutput)
{
    /// <summary>One line for a command-line listing: name, producer, shape, element type.</summary>
    public override string ToString()
    {
        var shape = Shape is null ? "?" : "[" + string.Join(",", Shape) + "]";
        var output = IsGraphOutput ? "  (graph output)" : "";
        return $"{Name}  {Producer}  {shape}  {ElementType ?? "?"}{output}";
    }
}
