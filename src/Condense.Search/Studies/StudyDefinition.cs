using System.Text.Json;
using Condense.Core;
using Condense.Search.Spaces;

namespace Condense.Search.Studies;

/// <summary>Whether the objective's score is maximized or minimized.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum Direction
{
    /// <summary>Higher is better (rewards, accuracies).</summary>
    Maximize,
    /// <summary>Lower is better (losses, perplexities).</summary>
    Minimize,
}

/// <summary>
/// Everything that defines a study and must not change when it resumes: the objective's name, the space, the
/// scheduler and its options, the seed, the direction and the trial budget. Stored with the study; a coordinator
/// restarted with a different definition is refused.
/// </summary>
/// <param name="Name">The study's name (unique in its store).</param>
/// <param name="Objective">What is trained, e.g. "cartpole-a2c"; recorded, not interpreted.</param>
/// <param name="Space">The search space spec (<see cref="SearchSpace.Parse"/>).</param>
/// <param name="Scheduler">The scheduler spec (<see cref="SchedulerSpec.Parse"/>).</param>
/// <param name="Seed">Seeds the configurations (and, through the trial number, each trial's own seed).</param>
/// <param name="Direction">Maximize or minimize the score.</param>
/// <param name="MaxTrials">Trials to start at most.</param>
public sealed record StudyDefinition(string Name, string Objective, string Space, string Scheduler, ulong Seed, Direction Direction, int MaxTrials)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad field; parses space and scheduler.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200) throw new InputException($"study name '{Name}': must be 1-200 characters");
        if (MaxTrials < 1) throw new InputException($"study {Name}: MaxTrials = {MaxTrials}: need at least 1");
        _ = SearchSpace.Parse(Space);
        _ = SchedulerSpec.Parse(Scheduler);
    }

    /// <summary>The definition as stored.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>A stored definition; a malformed one is an input error naming <paramref name="source"/>.</summary>
    public static StudyDefinition FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<StudyDefinition>(json) ?? throw new InputException($"{source}: empty study definition");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{source}: unreadable study definition ({ex.Message.Split('\n')[0]})");
        }
    }
}
