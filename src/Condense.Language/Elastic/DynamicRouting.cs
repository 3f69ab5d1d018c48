// Forward passes and training of the per-token MLP routers (DynamicMlpRouters). Attention runs at the widths given
// (the full model's, or a static router's), so what changes between tokens is only the MLP width.
//
// Three ways to run a routed MLP, which compute the same values (tested):
// - soft (training): the full MLP with the Gumbel-softmax nested mask, differentiable in the router logits;
// - masked (inference): the full MLP with each token's dropped neurons zeroed: no saving, the baseline to beat;
// - grouped (inference): tokens gathered by width, each group a dense smaller MLP: the saving is real.
// Evaluation also times them on the native engine (NativeLlama.RouteMlps: grouped and masked, one token per decode
// step), against the static sub-network of about the same mean MLP width and the full model, in alternated rounds.
//
// Training choices (the paper gives no code): the model is frozen, routers learn from the LM loss plus
// λ · (E[fraction of MLP neurons kept per token] − b)², budgets uniform in [MinBudget, 1], Gumbel temperature annealed
// linearly from TauStart to TauEnd. The MLP's cost is taken as proportional to its neurons (its matmuls are), not read
// from the latency table: per-token routing changes only the MLPs, whose table entries are too close together at this
// scale to train against.
using Condense.Language.Models;
using Condense.Language.Sparsity;
using Condense.Language.Text;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Elastic;

/// <summary>How a routed MLP is executed.</summary>
public enum RoutedMlpMode
{
    /// <summary>Full MLP under a soft nested mask (training).</summary>
    Soft,
    /// <summary>Full MLP with each token's dropped neurons zeroed.</summary>
    Masked,
    /// <summary>Tokens grouped by width, each group a dense smaller MLP.</summary>
    Grouped,
}

/// <summary>Settings of dynamic router training.</summary>
public sealed record DynamicRoutingOptions
{
    /// <summary>Router training steps.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Windows per step.</summary>
    public int BatchSize { get; init; } = 4;
    /// <summary>Tokens per window.</summary>
    public int SeqLen { get; init; } = 128;
    /// <summary>Smallest budget trained (fraction of the full MLP latency).</summary>
    public double MinBudget { get; init; } = 0.25;
    /// <summary>Weight λ of the latency loss (with 20 the routers of a 260K model kept every token at full width).</summary>
    public double LatencyWeight { get; init; } = 100;
    /// <summary>Router learning rate (Adam).</summary>
    public double LearningRate { get; init; } = 3e-3;
    /// <summary>Gumbel temperature at the start.</summary>
    public double TauStart { get; init; } = 1.0;
    /// <summary>Gumbel temperature at the end.</summary>
    public double TauEnd { get; init; } = 0.1;
    /// <summary>Seed of budgets, windows and Gumbel noise.</summary>
    public long Seed { get; init; }
}

/// <summary>Per-token MLP routing: forward passes and router training.</summary>
public static class DynamicRouting
{
    /// <summary>
    /// Logits (B, T, V) with attention at <paramref name="attentionWidths"/> and every MLP routed per token for budgets (B);
    /// <paramref name="expectedUnits"/> receives each row's mean routed MLP width as a fraction (B), differentiable in Soft mode.
    /// </summary>
    public static Tensor Forward(ElasticLlama model, Tensor tokens, ElasticWidths attentionWidths, DynamicMlpRouters routers, Tensor budgets,
        int[] units, RoutedMlpMode mode, double tau, out Tensor expectedUnits, IReadOnlyList<LlamaMlpView>? views = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(attentionWidths);
        ArgumentNullException.ThrowIfNull(routers);
        ArgumentNullException.ThrowIfNull(units);
        using var scope = NewDisposeScope();
        var config = model.Config;
        int H = config.HiddenDim;
        long B = tokens.shape[0], T = tokens.shape[1];
        var body = model.Model.Model;
        var fraction = tensor(units.Select(k => (float)k / H).ToArray());               // (K)
        var x = body.EmbedTokens.call(tokens);                                          // (B, T, C)
        var (cos, sin) = Rope.CosSin(config, 0, T, x.device);
        Tensor used = zeros(B);
        for (int i = 0; i < config.NLayers; i++)
        {
            var layer = body.Layers[i];
            x = x + model.Attention(layer.SelfAttn!, layer.InputLayerNorm!.call(x), attentionWidths.Layers[i].HeadGroups, cos, sin, queriesPerGroup: attentionWidths.Layers[i].QueryHeads);
            var h = layer.PostAttentionLayerNorm!.call(x);                              // (B, T, C)
            var logits = routers.call(h.detach(), budgets, i);                          // (B, T, K)
            var mlp = layer.Mlp!;
            Tensor output;
            if (mode == RoutedMlpMode.Soft)
            {
                var y = GumbelSoftmax.Sample(logits, tau);                               // (B, T, K)
                var mask = DynamicMlpRouters.NestedMask(y, units, H);                    // (B, T, H)
                var act = functional.silu(mlp.GateProj.call(h)) * mlp.UpProj.call(h);     // (B, T, H)
                output = mlp.DownProj.call(act * mask);
                used = used + (y * fraction).sum(-1).mean([1L]);                         // (B)
            }
            else
            {
                var choice = logits.argmax(-1);                                          // (B, T)
                used = used + fraction.index_select(0, choice.reshape(-1)).reshape(B, T).mean([1L]);
                if (mode == RoutedMlpMode.Masked)
                {
                    var hard = functional.one_hot(choice, units.Length).to_type(h.dtype);
                    var mask = DynamicMlpRouters.NestedMask(hard, units, H);
                    var act = functional.silu(mlp.GateProj.call(h)) * mlp.UpProj.call(h);
                    output = mlp.DownProj.call(act * mask);
                }
                else
                {
                    var view = views?[i] ?? throw new ArgumentException("grouped execution needs the MLP views", nameof(views));
                    output = DynamicMlpRouters.GroupedMlp(view, h.reshape(B * T, -1), choice.reshape(-1).data<long>().ToArray(), units)
                        .reshape(B, T, -1);
                }
            }
            x = x + output;
        }
        expectedUnits = (used / config.NLayers).MoveToOuterDisposeScope();
        return model.Model.Logits(body.Norm.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Dense copies of every layer's MLP at each candidate width, for grouped execution (the caller disposes them).</summary>
    public static List<LlamaMlpView> Views(ElasticLlama model, int[] units)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Model.Model.Layers.Select(l => new LlamaMlpView(l.Mlp!, units)).ToList();
    }

    /// <summary>Trains <paramref name="routers"/> on <paramref name="text"/> with the model frozen; returns the last LM and latency losses.</summary>
    public static (double LmLoss, double LatencyLoss) Train(ElasticLlama model, DynamicMlpRouters routers, int[] units, ElasticWidths attentionWidths,
        TokenCorpus text, DynamicRoutingOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(routers);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var p in model.Model.parameters()) p.requires_grad = false;
        Core.Training.Determinism.Seed(options.Seed);
        var rng = new Core.Data.SplitMix64((ulong)options.Seed ^ 0xD7A3UL);
        int seqLen = Math.Min(options.SeqLen, model.Config.MaxSeqLen);
        using var optimizer = optim.Adam(routers.parameters(), options.LearningRate);
        double lmLoss = double.NaN, latencyLoss = double.NaN;
        for (int s = 0; s < options.Steps; s++)
        {
            using var scope = NewDisposeScope();
            double tau = options.TauStart + (options.TauEnd - options.TauStart) * s / Math.Max(1, options.Steps - 1);
            var tokens = text.RandomWindows(options.BatchSize, seqLen + 1, options.Seed, (long)s * options.BatchSize);
            var budgets = tensor(Enumerable.Range(0, options.BatchSize)
                .Select(_ => (float)(options.MinBudget + (1 - options.MinBudget) * rng.NextDouble())).ToArray());
            var logits = Forward(model, tokens.narrow(1, 0, seqLen), attentionWidths, routers, budgets, units, RoutedMlpMode.Soft, tau, out var used);
            var ce = functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), tokens.narrow(1, 1, seqLen).reshape(-1));
            var latency = (used - budgets).pow(2).mean();                               // MLP cost ∝ neurons kept
            var loss = ce + options.LatencyWeight * latency;
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            lmLoss = ce.item<float>();
            latencyLoss = latency.item<float>();
            if ((s + 1) % Math.Max(1, options.Steps / 5) == 0)
                log?.Invoke(FormattableString.Invariant($"[dynamic routers] {s + 1}/{options.Steps}: LM loss {lmLoss:F3}, latency loss {latencyLoss:F4}"));
        }
        return (lmLoss, latencyLoss);
    }

    /// <summary>Tokens each timed decode call forwards: one token's widths say little about the routers' mean cost.</summary>
    public const int TimedDecodeTokens = 32;

    /// <summary>
    /// At <paramref name="budget"/>: the mean fraction of MLP neurons the routers keep on <paramref name="evalText"/>, the
    /// routed model's perplexity (TorchSharp, masked; and the native engine, grouped), the perplexity of the static
    /// sub-network with that fraction of MLP neurons in every layer, and the native engine's prefill and decode latency
    /// with the MLPs routed per token (grouped and masked), of the static sub-network and of the full model, timed in
    /// shuffled rounds relative to the static sub-network (medians; decode per token, over TimedDecodeTokens tokens of
    /// the text from position DecodeContext).
    /// </summary>
    public static DynamicEvalRow Evaluate(ElasticLlama model, DynamicMlpRouters routers, int[] units, Tokenizers.Llama2cTokenizer tokenizer,
        string evalText, double budget, int evalDocs, LatencyOptions timing, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(routers);
        ArgumentNullException.ThrowIfNull(timing);
        var config = model.Config;
        if (timing.PrefillTokens < 1 || timing.PrefillTokens > config.MaxSeqLen)
            throw Core.InputException.ForOption(nameof(timing.PrefillTokens), $"{timing.PrefillTokens}: must be 1 .. {config.MaxSeqLen} (the model's context)");
        if (timing.DecodeContext < 0 || timing.DecodeContext > config.MaxSeqLen - TimedDecodeTokens)
            throw Core.InputException.ForOption(nameof(timing.DecodeContext),
                $"{timing.DecodeContext}: must be 0 .. {config.MaxSeqLen - TimedDecodeTokens} (the model's context less the {TimedDecodeTokens} decoded tokens)");
        var full = ElasticWidths.Full(config);
        var (sequences, truncated) = ElasticJob.EvalSequences(tokenizer, evalText, evalDocs, config.MaxSeqLen);
        int timedTokens = Math.Max(timing.PrefillTokens, timing.DecodeContext + TimedDecodeTokens);
        if (sequences.Sum(s => (long)s.Length) < timedTokens)
            throw Core.InputException.ForOption("EvalDocs", $"{evalDocs} documents hold fewer than the {timedTokens} tokens the timing needs");
        using var noGrad = no_grad();
        double nll = 0, kept = 0;
        long count = 0;
        var b = tensor(new[] { (float)budget });
        foreach (var seq in sequences)
        {
            using var scope = NewDisposeScope();
            var tokens = tensor(seq.Select(t => (long)t).ToArray(), [1, seq.Length]);
            var logits = Forward(model, tokens.narrow(1, 0, seq.Length - 1), full, routers, b, units, RoutedMlpMode.Masked, 1, out var used);
            nll += functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), tokens.narrow(1, 1, seq.Length - 1).reshape(-1), reduction: Reduction.Sum).item<float>();
            kept += used.item<float>() * (seq.Length - 1);
            count += seq.Length - 1;
        }
        double fraction = kept / count;
        double routedPpl = Math.Exp(nll / count);
        var staticWidths = ElasticWidths.Uniform(config, fraction, 1.0);
        Native.NativeLlama staticEngine;
        double staticPpl;
        using (var staticModel = model.Extract(staticWidths))
        {
            staticPpl = Evaluation.Perplexity.Evaluate(staticModel, sequences, truncated).Perplexity;
            staticEngine = Native.NativeLlama.FromModel(staticModel, threads: timing.NativeThreads);
        }
        Native.NativeLlama Routed(Native.NativeRoutedMlp execution)
        {
            var engine = Native.NativeLlama.FromModel(model.Model, threads: timing.NativeThreads, packTwoFour: false);
            engine.RouteMlps(routers.ToNative(budget, units, execution));
            return engine;
        }
        var grouped = Routed(Native.NativeRoutedMlp.Grouped);
        double nativePpl = Native.NativePerplexity.Evaluate(grouped, sequences, truncated).Perplexity;
        double nativeKept = (double)grouped.RoutedNeuronsKept / grouped.RoutedNeuronsTotal;

        // Real text, so that the routers see the hidden states they were trained on.
        var text = sequences.SelectMany(s => s).Take(timedTokens).ToArray();
        // The share of neurons the timed decode tokens keep, which is what the decode timings reflect.
        grouped.Reset();
        grouped.Forward(text.AsSpan(0, timing.DecodeContext));
        long keptBefore = grouped.RoutedNeuronsKept, totalBefore = grouped.RoutedNeuronsTotal;
        foreach (int token in text.AsSpan(timing.DecodeContext, TimedDecodeTokens)) grouped.Forward(token);
        double decodeKept = (double)(grouped.RoutedNeuronsKept - keptBefore) / (grouped.RoutedNeuronsTotal - totalBefore);
        var engines = new[] { grouped, staticEngine, Routed(Native.NativeRoutedMlp.Masked), Native.NativeLlama.FromModel(model.Model, threads: timing.NativeThreads) };
        var probes = engines.Select(e => LatencyProbe.ForEngine(e, text, timing, TimedDecodeTokens)).ToList();
        var entries = LatencyTable.TimeRounds(probes, timing, (ulong)timing.Seed ^ 0xD1A7UL, FormattableString.Invariant($"[dynamic routers] budget {budget:P0}"), log, reference: 1);
        return new DynamicEvalRow(budget, fraction, routedPpl, nativePpl, nativeKept, decodeKept, staticWidths.ToString(), staticPpl,
            entries[0], entries[1], entries[2], entries[3], timing.NativeThreads);
    }
}

/// <summary>Per-token routing at one budget against the static sub-network of the same mean MLP width, and against masking.</summary>
/// <param name="Budget">Requested budget.</param>
/// <param name="MlpFraction">Mean fraction of MLP neurons kept per token (TorchSharp forward).</param>
/// <param name="RoutedPerplexity">Perplexity with per-token widths (TorchSharp forward, masked).</param>
/// <param name="NativeRoutedPerplexity">The same on the native engine, grouped by width.</param>
/// <param name="NativeMlpFraction">Mean fraction of MLP neurons the native engine's routers kept.</param>
/// <param name="DecodeMlpFraction">The same over the timed decode tokens alone.</param>
/// <param name="StaticWidths">The static sub-network with <paramref name="MlpFraction"/> in every layer.</param>
/// <param name="StaticPerplexity">Its perplexity.</param>
/// <param name="Grouped">Native latency, per-token widths, tokens grouped by width.</param>
/// <param name="Static">Native latency of the static sub-network.</param>
/// <param name="Masked">Native latency, per-token widths as masks on the full MLPs.</param>
/// <param name="Full">Native latency of the full model, no routers.</param>
/// <param name="Threads">Native engine threads.</param>
public sealed record DynamicEvalRow(double Budget, double MlpFraction, double RoutedPerplexity, double NativeRoutedPerplexity, double NativeMlpFraction,
    double DecodeMlpFraction, string StaticWidths, double StaticPerplexity, LatencyEntry Grouped, LatencyEntry Static, LatencyEntry Masked, LatencyEntry Full, int Threads);
