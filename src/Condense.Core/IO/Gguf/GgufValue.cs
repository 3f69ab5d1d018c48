namespace Condense.Core.IO.Gguf;

/// <summary>
/// One metadata value: a scalar (uint/int as long or ulong, float as double, bool, string) or an array of one
/// element type (<see cref="ElementType"/>) held as an <see cref="Array"/> of the same CLR types.
/// </summary>
/// <param name="Type">The value's GGUF type.</param>
/// <param name="Value">The value.</param>
/// <param name="ElementType">For arrays, the elements' type.</param>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType? ElementType = null)
{
    /// <summary>A string.</summary>
    public static GgufValue Of(string value) => new(GgufValueType.String, value);

    /// <summary>A uint32.</summary>
    public static GgufValue OfUInt32(uint value) => new(GgufValueType.UInt32, (ulong)value);

    /// <summary>A float32.</summary>
    public static GgufValue OfFloat32(float value) => new(GgufValueType.Float32, (double)value);

    /// <summary>A bool.</summary>
    public static GgufValue Of(bool value) => new(GgufValueType.Bool, value);

    /// <summary>An array of strings.</summary>
    public static GgufValue Of(IReadOnlyList<string> values) => new(GgufValueType.Array, values.ToArray(), GgufValueType.String);

    /// <summary>An array of float32.</summary>
    public static GgufValue Of(IReadOnlyList<float> values) =>
        new(GgufValueType.Array, values.Select(v => (double)v).ToArray(), GgufValueType.Float32);

    /// <summary>An array of int32.</summary>
    public static GgufValue Of(IReadOnlyList<int> values) =>
        new(GgufValueType.Array, values.Select(v => (long)v).ToArray(), GgufValueType.Int32);

    /// <summary>Arrays as "[n x type]" with their first elements; scalars as themselves (float32 at float32 precision).</summary>
    public override string ToString()
    {
        if (Value is not Array array) return Format(Value, Type);
        var head = array.Cast<object>().Take(4).Select(v => Format(v, ElementType ?? Type));
        return $"[{array.Length} x {ElementType}] {string.Join(", ", head)}{(array.Length > 4 ? ", ..." : "")}";
    }

    private static string Format(object value, GgufValueType type) => type == GgufValueType.Float32 && value is double d
        ? ((float)d).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
}
