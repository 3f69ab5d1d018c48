// Does the latency table predict what a sub-network really costs? Each sampled sub-network is extracted as a dense
// model (ElasticLlama.Extract), and its end-to-end prefill (1, PrefillTokens) and one-token decode against a KV cache
// of DecodeContext positions are timed the way the table's entries were (median of repeated calls, sub-networks in a
// seeded shuffled order per round); the relative error of the table's sum against that measurement is reported.
using Condense.Language.Models;
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
        LatencyOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(subnetworks);
        ArgumentNullException.ThrowIfNull(options);
        using var noGrad = no_grad();
        var runs = new List<(LlamaForCausalLM Model, LlamaKvCache Cache, Tensor Prompt, Tensor Token)>();
        try
        {
            foreach (var widths in subnetworks)
            {
                var sub = model.Extract(widths);
                var cache = sub.NewCache(1, options.DecodeContext + 1);
                using (var scope = NewDisposeScope())
                    sub.Forward(randint(0, model.Config.VocabSize, [1, options.DecodeContext]), cache);   // fill the context once
                var prompt = randint(0, model.Config.VocabSize, [1, options.PrefillTokens]).DetachFromDisposeScope();
                var token = randint(0, model.Config.VocabSize, [1, 1]).DetachFromDisposeScope();
                runs.Add((sub, cache, prompt, token));
            }
            void Prefill(int i)
            {
                using var scope = NewDisposeScope();
                runs[i].Model.Forward(runs[i].Prompt, null);
            }
            void Decode(int i)
            {
                using var scope = NewDisposeScope();
                runs[i].Model.Forward(runs[i].Token, runs[i].Cache);
                runs[i].Cache.Advance(-1);                              // the same context for every call
            }
            for (int i = 0; i < runs.Count; i++)
                for (int w = 0; w < options.Warmup; w++)
                {
                    Prefill(i);
                    Decode(i);
                }
            var prefill = runs.Select(_ => new List<double>()).ToArray();
            var decode = runs.Select(_ => new List<double>()).ToArray();
            var rng = new Core.Data.SplitMix64((ulong)options.Seed ^ 0xA5A5UL);
            for (int round = 0; round < options.Rounds; round++)
            {
                var order = Enumerable.Range(0, runs.Count).ToArray();
                for (int i = order.Length - 1; i > 0; i--)
                {
                    int j = rng.NextInt(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
                foreach (var i in order)
                {
                    prefill[i].AddRange(LatencyTable.TimeCalls(() => Prefill(i), options.Repeats));
                    decode[i].AddRange(LatencyTable.TimeCalls(() => Decode(i), options.Repeats));
                }
                log?.Invoke($"[latency check] round {round + 1}/{options.Rounds}");
            }
            return subnetworks.Select((w, i) => new LatencyCheck(w.ToString(), table.Predict(w, decode: false), LatencyTable.Median(prefill[i]),
                table.Predict(w, decode: true), LatencyTable.Median(decode[i]))).ToList();
        }
        finally
        {
            foreach (var r in runs)
            {
                r.Model.Dispose();
                r.Cache.Dispose();
                r.Prompt.Dispose();
                r.Token.Dispose();
            }
        }
    }
}
