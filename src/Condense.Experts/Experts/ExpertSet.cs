// The experts offered to the VLM: their model cards (the text block VILA-M3 prepends to the first user turn) and
// the trigger parser of the reference inference loop (regex over the reply; exactly one trigger accepted).
using System.Text.RegularExpressions;

namespace Condense.Experts.Experts;

/// <summary>A trigger found in a reply: the expert's name and its argument text.</summary>
public sealed record ExpertTrigger(string Name, string Arguments)
{
    /// <summary>The trigger as the VLM writes it.</summary>
    public override string ToString() => $"<{Name}({Arguments})>";
}

/// <summary>The experts available in a conversation.</summary>
public sealed partial class ExpertSet
{
    private readonly Dictionary<string, IExpert> byName;

    /// <summary>A set of experts with distinct names.</summary>
    public ExpertSet(IEnumerable<IExpert> experts)
    {
        Experts = experts.ToList();
        byName = new Dictionary<string, IExpert>(StringComparer.Ordinal);
        foreach (var e in Experts)
            if (!byName.TryAdd(e.Name, e)) throw new ArgumentException($"two experts are named {e.Name}");
    }

    /// <summary>The experts, in card order.</summary>
    public IReadOnlyList<IExpert> Experts { get; }

    /// <summary>The expert called <paramref name="name"/>, or null.</summary>
    public IExpert? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The model cards block, as in the reference: a header, one line per expert, and the instruction.</summary>
    public string ModelCards() =>
        "Here is a list of available expert models: " + string.Join(" ", Experts.Select(e => e.ModelCard))
        + " Give the model <NAME(args)> when selecting a suitable expert model.";

    /// <summary>
    /// The trigger in <paramref name="reply"/>: null when there is none; an <see cref="ExpertException"/> when there
    /// are several or the name is not an expert here.
    /// </summary>
    public ExpertTrigger? ParseTrigger(string reply)
    {
        var matches = TriggerPattern().Matches(reply);
        if (matches.Count == 0) return null;
        if (matches.Count > 1)
            throw new ExpertException($"the reply names {matches.Count} expert triggers ({string.Join(", ", matches.Select(m => m.Value))}); exactly one is accepted");
        string name = matches[0].Groups[1].Value;
        if (Find(name) is null)
            throw new ExpertException($"unknown expert {name} in trigger {matches[0].Value}; available: {string.Join(", ", Experts.Select(e => e.Name))}");
        return new ExpertTrigger(name, matches[0].Groups[2].Value.Trim());
    }

    [GeneratedRegex(@"<([A-Za-z][A-Za-z0-9_]*)\((.*?)\)>")]
    private static partial Regex TriggerPattern();
}
