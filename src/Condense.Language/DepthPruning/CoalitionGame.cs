// A cooperative game over the prunable units of a network: a coalition is the set of units kept (a bitmask,
// bit i = unit i present), its value a vector of numbers (e.g. the LM loss and the logit distance to the full
// model), so one forward pass serves several games at once. Shapley estimators only ever see this interface.
namespace Condense.Language.DepthPruning;

/// <summary>A cooperative game with <see cref="Players"/> players and one or more value functions.</summary>
public abstract class CoalitionGame
{
    /// <summary>Most players a coalition bitmask can hold.</summary>
    public const int MaxPlayers = 63;

    /// <summary>Number of players (units).</summary>
    public abstract int Players { get; }

    /// <summary>Names of the value functions, one per component of <see cref="Value(ulong)"/>.</summary>
    public abstract IReadOnlyList<string> ValueNames { get; }

    /// <summary>Independent evaluation samples (e.g. calibration sequences) the value can be restricted to.</summary>
    public virtual int Samples => 1;

    /// <summary>The coalition with every player present.</summary>
    public ulong All => Players == 64 ? ulong.MaxValue : (1UL << Players) - 1;

    /// <summary>The values of <paramref name="coalition"/> on all samples together.</summary>
    public abstract double[] Value(ulong coalition);

    /// <summary>The values of <paramref name="coalition"/> on one sample (default: the values on all samples).</summary>
    public virtual double[] Value(ulong coalition, int sample) => Value(coalition);

    /// <summary>
    /// The values of all 2^n coalitions, indexed by bitmask. Subclasses override it when coalitions can share work
    /// (a network shares the activations of a common prefix of kept units).
    /// </summary>
    public virtual double[][] AllValues()
    {
        if (Players > ExactShapley.MaxPlayers)
            throw new InvalidOperationException($"{Players} players are too many to enumerate all coalitions");
        var table = new double[1 << Players][];
        for (int mask = 0; mask < table.Length; mask++) table[mask] = Value((ulong)mask);
        return table;
    }

    /// <summary>Checks that a game has a usable number of players.</summary>
    protected static void CheckPlayers(int players)
    {
        if (players < 1 || players > MaxPlayers)
            throw new ArgumentOutOfRangeException(nameof(players), players, $"a game needs 1..{MaxPlayers} players");
    }
}

/// <summary>A game given by a function (synthetic games in tests, cached tables).</summary>
public sealed class FunctionGame : CoalitionGame
{
    private readonly Func<ulong, double[]> value;
    private readonly Func<ulong, int, double[]>? sampleValue;

    /// <summary>A game of <paramref name="players"/> players whose values <paramref name="value"/> computes, optionally per sample.</summary>
    /// <param name="players">Number of players.</param>
    /// <param name="valueNames">Names of the value functions, one per component of <paramref name="value"/>'s result.</param>
    /// <param name="value">Values of a coalition (bitmask) on all samples together.</param>
    /// <param name="samples">Number of samples the value can be restricted to.</param>
    /// <param name="sampleValue">Values of a coalition on one sample; null: <paramref name="value"/> for every sample.</param>
    public FunctionGame(int players, IReadOnlyList<string> valueNames, Func<ulong, double[]> value,
        int samples = 1, Func<ulong, int, double[]>? sampleValue = null)
    {
        CheckPlayers(players);
        Players = players;
        ValueNames = valueNames;
        this.value = value;
        Samples = samples;
        this.sampleValue = sampleValue;
    }

    /// <summary>A single-valued game.</summary>
    public FunctionGame(int players, Func<ulong, double> value)
        : this(players, ["v"], mask => [value(mask)]) { }

    /// <inheritdoc />
    public override int Players { get; }
    /// <inheritdoc />
    public override IReadOnlyList<string> ValueNames { get; }
    /// <inheritdoc />
    public override int Samples { get; }

    /// <summary>How many times <see cref="Value(ulong)"/> or its per-sample form was called.</summary>
    public int Evaluations { get; private set; }

    /// <inheritdoc />
    public override double[] Value(ulong coalition)
    {
        Evaluations++;
        return value(coalition);
    }

    /// <inheritdoc />
    public override double[] Value(ulong coalition, int sample)
    {
        Evaluations++;
        return sampleValue is null ? value(coalition) : sampleValue(coalition, sample);
    }
}
