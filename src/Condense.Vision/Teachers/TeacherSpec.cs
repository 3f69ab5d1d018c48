// One teacher as a run configuration names it: which implementation (Kind, the registry key), what to call it
// (Name, unique within a run: adaptor and loss labels), the input size to run at, and kind-specific options as
// strings (e.g. "weights" for a model file, "cell_size" for HOG) that the kind's factory parses and checks.
using System.Globalization;
using Condense.Core;

namespace Condense.Vision.Teachers;

/// <summary>A teacher to build: name, registry kind, optional input size and string options.</summary>
public sealed record TeacherSpec(string Name, string Kind, int? InputSize = null,
    IReadOnlyDictionary<string, string>? Options = null)
{
    /// <summary>A spec whose name is its kind, with default options.</summary>
    public static TeacherSpec Of(string kind, int? inputSize = null) => new(kind, kind, inputSize);

    /// <summary>The option's value, or null when absent.</summary>
    public string? Option(string key) => Options is not null && Options.TryGetValue(key, out var v) ? v : null;

    /// <summary>A positive integer option, or <paramref name="fallback"/> when absent.</summary>
    public int IntOption(string key, int fallback)
    {
        var text = Option(key);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new InputException($"teacher '{Name}': option {key}='{text}' is not a positive integer");
        return value;
    }

    /// <summary>
    /// Throws when the name is empty, the input size is not positive, or an option is not one of
    /// <paramref name="known"/> (else a typo would go unnoticed).
    /// </summary>
    public void RequireOnly(params string[] known)
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new InputException($"a '{Kind}' teacher has an empty name");
        foreach (var key in Options?.Keys ?? [])
            if (!known.Contains(key, StringComparer.Ordinal))
                throw new InputException($"teacher '{Name}' ({Kind}): unknown option '{key}'; known: " +
                    (known.Length == 0 ? "none" : string.Join(", ", known)));
        if (InputSize is <= 0)
            throw new InputException($"teacher '{Name}': input size {InputSize} is not positive");
    }
}
