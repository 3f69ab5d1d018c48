// The coalition game of a network on calibration data. Players are some of the network's units; the other units
// are fixed (kept or removed, e.g. already pruned). Value functions, all from the same forward pass:
//   loss            mean next-token NLL (nats),
//   logit_distance  mean over tokens of ‖logits_S − logits_ref‖₂, ref = all players kept (the reference code's
//                   "logit" value), so v(all) = 0,
//   dialogue_error / narrative_error   0-1 next-token error on targets inside / outside quoted speech.
// AllValues walks the coalitions depth-first in forward order, so coalitions that agree on the first k units
// share those k units' activations: 2^n − 1 unit applications for all 2^n coalitions instead of ~n·2^(n−1).
using Condense.Language.Text;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.DepthPruning;

/// <summary>The coalition game of a network's units on calibration windows, with loss, logit-distance and task-error values.</summary>
public sealed class NetworkGame : CoalitionGame, IDisposable
{
    /// <summary>Names of the value functions, in the order of every value vector.</summary>
    public static readonly string[] Values = ["loss", "logit_distance", "dialogue_error", "narrative_error"];
    private const int Loss = 0, Distance = 1, DialogueErr = 2, NarrativeErr = 3;

    private readonly UnitNetwork network;
    private readonly CalibrationSet data;
    private readonly int[] players;
    private readonly ulong fixedKeep;
    private readonly int rowsPerBatch;
    private readonly Tensor?[] reference;
    private double tokens, dialogueTokens, narrativeTokens;

    /// <param name="network">The network.</param>
    /// <param name="data">Calibration windows.</param>
    /// <param name="players">Unit indices that are players, in any order (player j = bit j of a coalition).</param>
    /// <param name="fixedKeep">Units kept whatever the coalition (non-player bits only).</param>
    /// <param name="rowsPerBatch">Windows per forward pass (bounds memory).</param>
    public NetworkGame(UnitNetwork network, CalibrationSet data, IReadOnlyList<int> players, ulong fixedKeep,
        int rowsPerBatch = 16)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(players);
        CheckPlayers(players.Count);
        this.network = network;
        this.data = data;
        this.players = [.. players];
        ulong playerBits = this.players.Aggregate(0UL, (m, u) => m | (1UL << u));
        this.fixedKeep = fixedKeep & ~playerBits;
        this.rowsPerBatch = Math.Max(1, rowsPerBatch);
        reference = new Tensor?[data.Sequences];
    }

    /// <summary>Called with (coalitions done, total) while <see cref="AllValues"/> runs, every 1/8 of the work.</summary>
    public Action<long, long>? Progress { get; set; }

    /// <inheritdoc />
    public override int Players => players.Length;
    /// <inheritdoc />
    public override IReadOnlyList<string> ValueNames => Values;
    /// <inheritdoc />
    public override int Samples => data.Sequences;

    /// <summary>Units kept by a coalition of players.</summary>
    public ulong UnitMask(ulong coalition)
    {
        ulong mask = fixedKeep;
        for (int j = 0; j < players.Length; j++)
            if ((coalition & (1UL << j)) != 0) mask |= 1UL << players[j];
        return mask;
    }

    /// <inheritdoc />
    public override double[] Value(ulong coalition) => Evaluate(coalition, 0, data.Sequences);

    /// <inheritdoc />
    public override double[] Value(ulong coalition, int sample) => Evaluate(coalition, sample, 1);

    /// <inheritdoc />
    public override double[][] AllValues()
    {
        if (Players > ExactShapley.MaxPlayers)
            throw new InvalidOperationException($"{Players} players are too many to enumerate all coalitions");
        var sums = new double[1 << Players][];
        for (int m = 0; m < sums.Length; m++) sums[m] = new double[Values.Length];
        var playerOf = new int[network.Units.Count];
        Array.Fill(playerOf, -1);
        for (int j = 0; j < players.Length; j++) playerOf[players[j]] = j;

        using var noGrad = no_grad();
        long total = (long)sums.Length * ((data.Sequences + rowsPerBatch - 1) / rowsPerBatch), done = 0;
        long every = Math.Max(1, total / 8);
        for (int start = 0; start < data.Sequences; start += rowsPerBatch)
        {
            int n = Math.Min(rowsPerBatch, data.Sequences - start);
            using var scope = NewDisposeScope();
            var refLogits = ReferenceLogits(start, n);
            var (x, cos, sin) = network.Embed(data.Inputs(start, n));
            var targets = data.Targets(start, n);
            var labels = data.TargetLabels(start, n);
            void Walk(int unit, Tensor h, ulong coalition)
            {
                if (unit == network.Units.Count)
                {
                    using var leaf = NewDisposeScope();
                    Accumulate(sums[coalition], network.Head(h), refLogits, targets, labels);
                    if (++done % every == 0 || done == total) Progress?.Invoke(done, total);
                    return;
                }
                int j = playerOf[unit];
                if (j >= 0)
                {
                    using (NewDisposeScope()) Walk(unit + 1, network.Apply(unit, h, cos, sin), coalition | (1UL << j));
                    using (NewDisposeScope()) Walk(unit + 1, network.Skip(unit, h), coalition);
                }
                else
                {
                    using var step = NewDisposeScope();
                    var next = (fixedKeep & (1UL << unit)) != 0 ? network.Apply(unit, h, cos, sin) : network.Skip(unit, h);
                    Walk(unit + 1, next, coalition);
                }
            }
            Walk(0, x, 0);
        }
        return [.. sums.Select(Finish)];
    }

    private double[] Evaluate(ulong coalition, int start, int count)
    {
        using var noGrad = no_grad();
        var sums = new double[Values.Length];
        ulong mask = UnitMask(coalition);
        for (int s = start; s < start + count; s += rowsPerBatch)
        {
            int n = Math.Min(rowsPerBatch, start + count - s);
            using var scope = NewDisposeScope();
            var logits = network.Logits(data.Inputs(s, n), mask);
            Accumulate(sums, logits, ReferenceLogits(s, n), data.Targets(s, n), data.TargetLabels(s, n));
        }
        return count == data.Sequences ? Finish(sums) : FinishRows(sums, start, count);
    }

    /// <summary>Logits with every player kept, for windows [start, start + n), computed once and cached.</summary>
    private Tensor ReferenceLogits(int start, int n)
    {
        EnsureCounts();
        using var noGrad = no_grad();
        for (int s = start; s < start + n; s++)
        {
            if (reference[s] is not null) continue;
            var logits = network.Logits(data.Inputs(s, 1), UnitMask(All));
            reference[s] = logits.DetachFromDisposeScope();
        }
        return cat([.. reference.Skip(start).Take(n).Select(t => t!)], 0);             // (n, T, V)
    }

    private static void Accumulate(double[] sums, Tensor logits, Tensor refLogits, Tensor targets, Tensor labels)
    {
        long V = logits.shape[^1];
        var nll = functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction: Reduction.Sum);
        var dist = (logits - refLogits).pow(2).sum(-1).sqrt().sum();
        var wrong = logits.argmax(-1).ne(targets);                                    // (n, T)
        var dialogue = (wrong & labels.eq(DialogueLabels.Dialogue)).sum();
        var narrative = (wrong & labels.eq(DialogueLabels.Narrative)).sum();
        sums[Loss] += nll.item<float>();
        sums[Distance] += dist.item<float>();
        sums[DialogueErr] += dialogue.item<long>();
        sums[NarrativeErr] += narrative.item<long>();
    }

    private void EnsureCounts()
    {
        if (tokens > 0) return;
        tokens = data.Sequences * (double)data.Length;
        dialogueTokens = data.Labels.eq(DialogueLabels.Dialogue).sum().item<long>();
        narrativeTokens = data.Labels.eq(DialogueLabels.Narrative).sum().item<long>();
    }

    private double[] Finish(double[] sums) =>
        [sums[Loss] / tokens, sums[Distance] / tokens, Ratio(sums[DialogueErr], dialogueTokens),
            Ratio(sums[NarrativeErr], narrativeTokens)];

    private double[] FinishRows(double[] sums, int start, int count)
    {
        using var scope = NewDisposeScope();
        var labels = data.TargetLabels(start, count);
        double t = count * (double)data.Length;
        return [sums[Loss] / t, sums[Distance] / t,
            Ratio(sums[DialogueErr], labels.eq(DialogueLabels.Dialogue).sum().item<long>()),
            Ratio(sums[NarrativeErr], labels.eq(DialogueLabels.Narrative).sum().item<long>())];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in reference) t?.Dispose();
        Array.Clear(reference);
    }

    private static double Ratio(double a, double b) => b > 0 ? a / b : double.NaN;
}
