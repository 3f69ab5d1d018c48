// Does the latency table predict what a sub-network really costs? Each sampled sub-network is extracted as a dense
// model (ElasticLlama.Extract), and its end-to-end prefill (1, PrefillTokens) and one-token decode against a KV cache
// of DecodeContext positions are timed the way the table's entries were (short rounds in a seeded shuffled order,
// each relative to a reference sub-network in the same round when one is named: the full model, for budgets); the
// relative error of the table's sum against that measurement is reported.
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>One sub-network: predicted and measured milliseconds per call.</summary>
public sealed record LatencyCheck(string Widths, double PredictedPrefillMs, double MeasuredPrefillMs, double PredictedDecodeMs, double MeasuredDecodeMs)
{
    /// <summary>(predicted − measured) / measured, prefill.</summary>
    public double PrefillError => (PredictedPrefillMs - MeasuredPrefillMs) / MeasuredPrefillMs;

    /// <summary>(predicted − measured) / measured, decode.</summary>
    public double DecodeError => (PredictedDecodeMs - MeasuredDecodeMs) / MeasuredDecodeMs;
}

/// <summary>Checks a <see cref="LatencyTable"/> against end-to-end measurements of sub-networks.</summary>
public static class LatencyValidation
{
    /// <summary>Predicted against measured latency for each of <paramref name="subnetworks"/>.</summary>
    public static IReadOnlyList<LatencyCheck> Check(ElasticLlama model, LatencyTable table, IReadOnlyList<ElasticWidths> subnetworks,
        LatencyOptions options, Action<string>? log = null, int? reference = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(subnetworks);
        ArgumentNullException.ThrowIfNull(options);
        var measured = Measure(model, subnetworks, options, log, reference, "[latency check]");
        return subnetworks.Select((w, i) => new LatencyCheck(w.ToString(), table.Predict(w, decode: false), measured[i].PrefillMs,
            table.Predict(w, decode: true), measured[i].DecodeMs)).ToList();
    }

    /// <summary>
    /// Measured prefill and decode milliseconds of each of <paramref name="subnetworks"/>, extracted as a dense model, in
    /// shuffled rounds (relative to sub-network <paramref name="reference"/> in the same round when one is named).
    /// </summary>
    public static IReadOnlyList<LatencyEntry> Measure(ElasticLlama model, IReadOnlyList<ElasticWidths> subnetworks, LatencyOptions options,
        Action<string>? log = null, int? reference = null, string label = "[latency]")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(subnetworks);
        ArgumentNullException.ThrowIfNull(options);
        using var noGrad = no_grad();
        var probes = new List<LatencyProbe>();
        try
        {
            foreach (var widths in subnetworks) probes.Add(LatencyProbe.ForModel(model.Extract(widths), options));
            return LatencyTable.TimeRounds(probes, options, (ulong)options.Seed ^ 0xA5A5UL, label, log, reference);
        }
        finally
        {
            foreach (var probe in probes) probe.Dispose();
        }
    }
}
