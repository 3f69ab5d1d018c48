// A search space is an ordered list of parameters. Random sampling is stateless: the draw for parameter p of trial n
// in a study with seed s is SplitMix64(mix(s, n, FNV-1a(p))), so configurations replay exactly after a restart, on
// every machine, whatever order workers ask in.
using System.Globalization;
using Condense.Core;
using Condense.Core.Data;

namespace Condense.Search.Spaces;

/// <summary>The hyperparameters a study searches.</summary>
public sealed class SearchSpace
{
    /// <summary>A space of <paramref name="parameters"/>; names must be unique and every range non-empty.</summary>
    public SearchSpace(IEnumerable<Parameter> parameters)
    {
        Parameters = [.. parameters];
        if (Parameters.Count == 0) throw new InputException("search space: no parameters");
        foreach (var p in Parameters) p.Validate();
        var repeated = Parameters.GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new InputException($"search space: parameter '{repeated.Key}' is defined twice");
    }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The configuration of trial <paramref name="trial"/> in a study seeded <paramref name="seed"/>.</summary>
    public TrialConfig Sample(ulong seed, long trial)
    {
        var values = new SortedDictionary<string, ParamValue>(StringComparer.Ordinal);
        foreach (var p in Parameters) values[p.Name] = p.At(Draw(seed, trial, p.Name));
        return new TrialConfig(values);
    }

    /// <summary>The uniform draw in [0, 1) for one parameter of one trial.</summary>
    public static double Draw(ulong seed, long trial, string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in name) { h ^= c; h *= 1099511628211UL; }
        var rng = new SplitMix64(seed ^ (0x9E3779B97F4A7C15UL * (ulong)(trial + 1)) ^ (h * 0xC2B2AE3D27D4EB4FUL));
        rng.Next();
        return rng.NextDouble();
    }

    /// <summary>The spec string that <see cref="Parse"/> reads back.</summary>
    public string Describe() => string.Join(";", Parameters.Select(p => p.Describe()));

    /// <summary>
    /// Reads "name=kind(args);..." where kind is uniform(lo,hi), log(lo,hi), int(lo,hi), logint(lo,hi) or
    /// choice(a,b,...). Throws an <see cref="InputException"/> naming the bad entry.
    /// </summary>
    public static SearchSpace Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var list = new List<Parameter>();
        foreach (var raw in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            list.Add(ParseOne(raw));
        return new SearchSpace(list);
    }

    /// <summary>One "name=kind(args)" entry.</summary>
    public static Parameter ParseOne(string entry)
    {
        int eq = entry.IndexOf('=', StringComparison.Ordinal), open = entry.IndexOf('(', StringComparison.Ordinal);
        if (eq <= 0 || open < eq || !entry.EndsWith(')'))
            throw new InputException($"search space: '{entry}' is not name=kind(args), e.g. lr=log(1e-4,1e-1)");
        var name = entry[..eq].Trim();
        var kind = entry[(eq + 1)..open].Trim();
        var args = entry[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries);
        double Num(int i)
        {
            if (args.Length != 2) throw new InputException($"search space: {name}: {kind} takes two numbers (low,high), got '{entry[(open + 1)..^1]}'");
            return double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
                ? x : throw new InputException($"search space: {name}: '{args[i]}' is not a number");
        }
        long Int(int i)
        {
            var x = Num(i);
            return x == Math.Floor(x) && Math.Abs(x) < 1e15 ? (long)x : throw new InputException($"search space: {name}: '{args[i]}' is not an integer");
        }
        return kind switch
        {
            "uniform" => new UniformParameter(name, Num(0), Num(1)),
            "log" or "loguniform" => new LogUniformParameter(name, Num(0), Num(1)),
            "int" => new IntParameter(name, Int(0), Int(1)),
            "logint" => new IntParameter(name, Int(0), Int(1), Log: true),
            "choice" => new CategoricalParameter(name, [.. args.Where(a => a.Length > 0)]),
            _ => throw new InputException($"search space: {name}: unknown kind '{kind}' (uniform, log, int, logint, choice)"),
        };
    }
}

/// <summary>A trial's hyperparameter values by name (JSON: an object of numbers and strings).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(TrialConfigJsonConverter))]
public sealed record TrialConfig(IReadOnlyDictionary<string, ParamValue> Values)
{
    /// <summary>The value of <paramref name="name"/>; a missing name is a programming error in the objective.</summary>
    public ParamValue this[string name] =>
        Values.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"the configuration has no parameter '{name}'");

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", Values.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>Writes a <see cref="TrialConfig"/> as {"name": number or string, ...} and reads it back.</summary>
public sealed class TrialConfigJsonConverter : System.Text.Json.Serialization.JsonConverter<TrialConfig>
{
    /// <inheritdoc/>
    public override TrialConfig Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        using var doc = System.Text.Json.JsonDocument.ParseValue(ref reader);
        if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object) throw new System.Text.Json.JsonException("a configuration is a JSON object");
        var values = new SortedDictionary<string, ParamValue>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            values[p.Name] = p.Value.ValueKind switch
            {
                System.Text.Json.JsonValueKind.String => ParamValue.Of(p.Value.GetString()!),
                System.Text.Json.JsonValueKind.Number => ParamValue.Of(p.Value.GetDouble()),
                _ => throw new System.Text.Json.JsonException($"parameter '{p.Name}' is neither a number nor a string"),
            };
        }
        return new TrialConfig(values);
    }

    /// <inheritdoc/>
    public override void Write(System.Text.Json.Utf8JsonWriter writer, TrialConfig value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        foreach (var (name, v) in value.Values)
        {
            if (v.Text is { } t) writer.WriteString(name, t);
            else writer.WriteNumber(name, v.Number!.Value);
        }
        writer.WriteEndObject();
    }
}
