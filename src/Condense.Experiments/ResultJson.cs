using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Condense.Experiments;

/// <summary>How results are written as JSON everywhere (the CLI's --json and the docs' JSON twins): snake_case, indented.</summary>
public static class ResultJson
{
    /// <summary>The serializer options: snake_case properties, dictionary keys as they are, indented, NaN and infinities as strings.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // a statistic that is undefined (a confidence interval from one seed) is written as "NaN", not an exception
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary><paramref name="value"/> as JSON text, serialized by its runtime type.</summary>
    public static string Serialize(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return JsonSerializer.Serialize(value, value.GetType(), Options);
    }
}
