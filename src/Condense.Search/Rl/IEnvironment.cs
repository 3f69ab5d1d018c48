using Condense.Core.Data;

namespace Condense.Search.Rl;

/// <summary>A discrete-action control task with Gym's step semantics.</summary>
public interface IEnvironment
{
    /// <summary>Observation length.</summary>
    int ObservationSize { get; }

    /// <summary>Number of actions.</summary>
    int Actions { get; }

    /// <summary>Steps after which an episode is truncated (Gym's TimeLimit).</summary>
    int MaxSteps { get; }

    /// <summary>Starts an episode; writes the first observation.</summary>
    void Reset(ref SplitMix64 rng, Span<double> observation);

    /// <summary>Applies <paramref name="action"/>; writes the next observation; returns (reward, terminated).</summary>
    (double Reward, bool Terminated) Step(int action, Span<double> observation);

    /// <summary>The full physical state (for checkpoints).</summary>
    double[] SaveState();

    /// <summary>Restores <see cref="SaveState"/>.</summary>
    void LoadState(double[] state);
}

/// <summary>The environments by name.</summary>
public static class Environments
{
    /// <summary>The known names.</summary>
    public static readonly IReadOnlyList<string> Names = ["cartpole", "acrobot"];

    /// <summary>A new environment; an unknown name is an input error.</summary>
    public static IEnvironment Create(string name) => name switch
    {
        "cartpole" => new CartPole(),
        "acrobot" => new Acrobot(),
        _ => throw new Condense.Core.InputException($"unknown environment '{name}' (known: {string.Join(", ", Names)})"),
    };
}
