// Schedulers by name with options, as a study stores them: "hypertrick(phases=9,r=0.5)", "asha(phases=9,eta=3)",
// "asha-promotion(phases=9,eta=3)", "hyperband(phases=9,eta=3)", "median(phases=9)", "random(phases=9)".
using System.Globalization;
using Condense.Core;
using Condense.Search.Scheduling;

namespace Condense.Search.Studies;

/// <summary>Builds schedulers from their spec strings.</summary>
public static class SchedulerSpec
{
    /// <summary>The scheduler names.</summary>
    public static readonly IReadOnlyList<string> Names = ["hypertrick", "random", "asha", "asha-promotion", "hyperband", "median"];

    /// <summary>A new scheduler for <paramref name="spec"/>; unknown names or options are input errors.</summary>
    public static ITrialScheduler Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec = spec.Trim();
        var open = spec.IndexOf('(', StringComparison.Ordinal);
        var name = open < 0 ? spec : spec[..open].Trim();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (open >= 0)
        {
            if (!spec.EndsWith(')')) throw new InputException($"scheduler '{spec}': expected name(key=value,...)");
            foreach (var kv in spec[(open + 1)..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = kv.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new InputException($"scheduler '{spec}': option '{kv}' is not key=value");
                options[kv[..eq].Trim()] = kv[(eq + 1)..].Trim();
            }
        }
        var used = new HashSet<string>(StringComparer.Ordinal);
        double Num(string key, double fallback)
        {
            used.Add(key);
            if (!options.TryGetValue(key, out var s)) return fallback;
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
                ? x : throw new InputException($"scheduler {name}: {key} = '{s}' is not a number");
        }
        int Int(string key, int fallback)
        {
            var x = Num(key, fallback);
            return x == Math.Floor(x) && Math.Abs(x) < int.MaxValue ? (int)x : throw new InputException($"scheduler {name}: {key} = {x} is not an integer");
        }
        int phases = Int("phases", 9);
        ITrialScheduler scheduler = name switch
        {
            "hypertrick" => new HyperTrickScheduler(new HyperTrickOptions(phases, Num("r", 0.5),
                options.ContainsKey("warmup") ? Int("warmup", 1) : null, Int("include_current", 1) != 0,
                Int("best", 0) != 0 ? ScoreKind.Best : ScoreKind.Last)),
            "random" => new RandomSearchScheduler(phases),
            "asha" => new AshaScheduler(new AshaOptions(phases, Num("eta", 3), Int("grace", 1))),
            "asha-promotion" => new AshaScheduler(new AshaOptions(phases, Num("eta", 3), Int("grace", 1), Promotion: true)),
            "hyperband" => new HyperbandScheduler(new HyperbandOptions(phases, Num("eta", 3), Int("min_phases", 1))),
            "median" => new PercentileStoppingScheduler(new PercentileStoppingOptions(phases, Num("percentile", 50), Int("grace", 1), Int("min_trials", 3))),
            _ => throw new InputException($"unknown scheduler '{name}' (known: {string.Join(", ", Names)})"),
        };
        var unknown = options.Keys.FirstOrDefault(k => !used.Contains(k) && !(name == "hypertrick" && k == "warmup"));
        if (unknown is not null) throw new InputException($"scheduler {name}: unknown option '{unknown}'");
        return scheduler;
    }
}
