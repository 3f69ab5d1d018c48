// Flextron's staged router training (Cai et al., ICML 2024, section 3.2), on an elastically trained model:
//
// 1. Surrogate warm-up. Sub-networks are drawn (half uniformly from the candidates, half from the routers' Gumbel
//    samples at random budgets), their true LM loss is measured on a batch, and the surrogate (SM) is fitted to it.
// 2. Routers through the surrogate. For a batch of budgets b, each router's Gumbel-softmax sample y gives the expected
//    latency E[Lat] = fixed + s · Σ_layers Σ_k y_k · LUT_k (s: the table's block scale); the routers minimise
//    SM(y) + λ · ((E[Lat] − b · Lat_full) / Lat_full)², or λ · |·| (AbsoluteLatencyLoss; the paper allows either), or
//    with LatencyOfTarget the error relative to the target b · Lat_full itself (what the ±10% check measures).
//    They are updated only while the SM's error on fresh (sub-network, loss) pairs, measured before it trains on them,
//    is under a threshold; the SM keeps learning from the sub-networks the routers now pick.
// 3. Joint fine-tuning. The SM is dropped; each step draws a budget, the routers pick a hard sub-network (straight-
//    through Gumbel: the forward uses the argmax, the gradient flows through the soft sample, see ElasticLlama's gates),
//    and the model and routers learn from its LM loss (plus logit KD from the full model) and the latency loss.
//
// Deviations and choices (the paper gives no code): budgets are drawn uniformly from [MinBudget, 1] (optionally with a
// share set to exactly 1, FullBudgetShare); the surrogate's
// input is the routers' choice distributions, not their logits; the Gumbel temperature anneals linearly from TauStart to
// TauEnd over phases 2 and 3; the error gate is a mean relative error over the last 16 fresh pairs (10%: at 5% the
// surrogate, whose error hovers at 4-9% on stories260K, closed the gate for 246 of 300 steps); phase 2 uses
// straight-through samples (hard sub-network forward, soft gradient), so the latency the routers learn is that of
// the sub-networks argmax routing deploys, not of the soft mixture (SoftSamples restores the mixture, for the
// ablation in docs/results/flextron.md).
using Condense.Language.Sparsity;
using Condense.Language.Text;
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>Settings of router training.</summary>
public sealed record RouterTrainingOptions
{
    /// <summary>Steps fitting the surrogate before the routers move.</summary>
    public int SurrogateSteps { get; init; } = 150;
    /// <summary>Steps training the routers through the surrogate.</summary>
    public int RouterSteps { get; init; } = 1000;
    /// <summary>Steps of joint fine-tuning of model and routers.</summary>
    public int JointSteps { get; init; } = 100;
    /// <summary>Windows per batch for the true losses and the joint phase.</summary>
    public int BatchSize { get; init; } = 4;
    /// <summary>Tokens per window.</summary>
    public int SeqLen { get; init; } = 128;
    /// <summary>Budgets drawn per router step.</summary>
    public int BudgetsPerStep { get; init; } = 16;
    /// <summary>Smallest budget trained (a fraction of the full model's latency).</summary>
    public double MinBudget { get; init; } = 0.25;
    /// <summary>
    /// Share of budget draws set to exactly 1 (the full model's latency); the rest stay uniform in [MinBudget, 1]. A uniform
    /// draw lands near the top end, the one budget no sub-network can pass, as rarely as anywhere else.
    /// </summary>
    public double FullBudgetShare { get; init; }
    /// <summary>Weight λ of the latency loss.</summary>
    public double LatencyWeight { get; init; } = 20;
    /// <summary>Router learning rate (Adam).</summary>
    public double RouterLearningRate { get; init; } = 3e-3;
    /// <summary>Surrogate learning rate (Adam).</summary>
    public double SurrogateLearningRate { get; init; } = 1e-3;
    /// <summary>Model learning rate in the joint phase (AdamW).</summary>
    public double ModelLearningRate { get; init; } = 5e-5;
    /// <summary>Largest mean relative error of the surrogate at which the routers are updated.</summary>
    public double SurrogateThreshold { get; init; } = 0.10;
    /// <summary>Phase 2 on soft Gumbel samples (the relaxation's mixture) instead of straight-through hard ones (the ablation).</summary>
    public bool SoftSamples { get; init; }
    /// <summary>
    /// The latency loss |E[Lat] − b·Lat_full| / Lat_full instead of its square (the paper allows either): a constant pull
    /// toward the budget, where the square's pull fades near it and the surrogate's small gains from extra width win.
    /// </summary>
    public bool AbsoluteLatencyLoss { get; init; }
    /// <summary>
    /// The latency error relative to the budget's target, (E[Lat] − b·Lat_full) / (b·Lat_full), instead of relative to
    /// the full model's latency: the error the targets are judged by, and 1/b times the pull at budget b, where a
    /// sub-network 75% over a 25% budget is only 19% of the full model over it.
    /// </summary>
    public bool LatencyOfTarget { get; init; }
    /// <summary>Gumbel temperature at the start of phase 2.</summary>
    public double TauStart { get; init; } = 1.0;
    /// <summary>Gumbel temperature at the end of phase 3.</summary>
    public double TauEnd { get; init; } = 0.1;
    /// <summary>Decode or prefill latency from the table.</summary>
    public bool DecodeLatency { get; init; }
    /// <summary>Seed of budgets, windows, draws and Gumbel noise.</summary>
    public long Seed { get; init; }
}

/// <summary>What router training did, phase by phase.</summary>
public sealed record RouterTrainingResult(double SurrogateError, int RouterUpdates, int RouterSkips, double FinalJointLoss, double FinalLatencyLoss);

/// <summary>Trains static routers (and, in the last phase, the model) against a latency table.</summary>
public static class RouterTraining
{
    /// <summary>Runs the three phases on <paramref name="model"/> (elastic, sorted) and <paramref name="routers"/>, in place.</summary>
    public static RouterTrainingResult Train(ElasticLlama model, StaticRouters routers, ElasticCandidates candidates, LatencyTable table,
        TokenCorpus text, RouterTrainingOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(routers);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.MinBudget > 0 && options.MinBudget <= 1))
            throw Core.InputException.ForOption(nameof(options.MinBudget), $"{options.MinBudget}: must be in (0, 1]");
        if (!(options.FullBudgetShare >= 0 && options.FullBudgetShare < 1))
            throw Core.InputException.ForOption(nameof(options.FullBudgetShare), $"{options.FullBudgetShare}: must be in [0, 1)");
        var config = model.Config;
        var heads = candidates.AttentionUnits(config);
        var mlps = candidates.MlpUnits(config);
        int L = config.NLayers;
        int seqLen = Math.Min(options.SeqLen, config.MaxSeqLen);
        Core.Training.Determinism.Seed(options.Seed);
        var rng = new Core.Data.SplitMix64((ulong)options.Seed ^ 0x7011E5UL);
        // With no share at the top, the draws are those of the uniform scheme alone (earlier runs reproduce).
        double Budget() => options.FullBudgetShare > 0 && rng.NextDouble() < options.FullBudgetShare
            ? 1.0
            : options.MinBudget + (1 - options.MinBudget) * rng.NextDouble();

        // Latency per choice as tensors: (Ka), (Km); the full model's latency normalises the loss.
        double Pick(LatencyEntry e) => options.DecodeLatency ? e.DecodeMs : e.PrefillMs;
        double scale = Pick(table.BlockScale);
        using var latA = tensor(heads.Select(h => (float)(scale * Pick(table.AttentionEntry(h)))).ToArray());
        using var latM = tensor(mlps.Select(k => (float)(scale * Pick(table.Mlp[k]))).ToArray());
        double full = table.Predict(ElasticWidths.Full(config), options.DecodeLatency);
        double fixedMs = Pick(table.Fixed);

        using var surrogate = new LossSurrogate(L * (heads.Length + mlps.Length));
        using var smOptimizer = optim.Adam(surrogate.parameters(), options.SurrogateLearningRate);
        using var routerOptimizer = optim.Adam(routers.parameters(), options.RouterLearningRate);
        var recentErrors = new Queue<double>();
        long window = 0;

        Tensor Batch() => text.RandomWindows(options.BatchSize, seqLen + 1, options.Seed, window++ * options.BatchSize);

        double TrueLoss(ElasticWidths widths)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var tokens = Batch();
            var logits = model.Forward(tokens.narrow(1, 0, seqLen), widths);
            return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), tokens.narrow(1, 1, seqLen).reshape(-1)).item<float>();
        }

        ElasticWidths RouterSample(double budget, double tau)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (a, m) = routers.call(tensor(new[] { (float)budget }));
            var ai = GumbelSoftmax.Sample(a[0], tau).argmax(-1).data<long>().ToArray();
            var mi = GumbelSoftmax.Sample(m[0], tau).argmax(-1).data<long>().ToArray();
            return new ElasticWidths(ai.Zip(mi, (h, k) => heads[h] with { MlpNeurons = mlps[k] }).ToArray());
        }

        // One fresh pair: predict first (the gate's error), then fit the SM on it.
        double FitSurrogate(ElasticWidths widths)
        {
            using var scope = NewDisposeScope();
            double loss = TrueLoss(widths);
            var x = LossSurrogate.OneHot(widths, heads, mlps);
            double predicted;
            using (no_grad()) predicted = surrogate.call(x).item<float>();
            double error = Math.Abs(predicted - loss) / loss;
            recentErrors.Enqueue(error);
            if (recentErrors.Count > 16) recentErrors.Dequeue();
            smOptimizer.zero_grad();
            var fit = (surrogate.call(x) - loss).pow(2).mean();
            fit.backward();
            smOptimizer.step();
            return error;
        }

        Tensor LatencyLoss(Tensor relative) => options.AbsoluteLatencyLoss ? relative.abs() : relative.pow(2);
        Tensor RelativeError(Tensor latency, Tensor budgets) => (latency - budgets * full) / (options.LatencyOfTarget ? budgets * full : full);
        Tensor Relax(Tensor y) => options.SoftSamples ? y : StraightThrough(y);
        static Tensor StraightThrough(Tensor y) => nn.functional.one_hot(y.argmax(-1), y.shape[^1]).to_type(y.dtype) - y.detach() + y;

        Tensor ExpectedLatency(Tensor ya, Tensor ym) => fixedMs + (ya * latA).sum([1L, 2L]) + (ym * latM).sum([1L, 2L]);   // (N)

        // Phase 1: the surrogate alone.
        for (int s = 0; s < options.SurrogateSteps; s++)
        {
            var widths = s % 2 == 0 ? candidates.Sample(config, options.Seed, 1_000_000 + s, 0) : RouterSample(Budget(), options.TauStart);
            FitSurrogate(widths);
            if ((s + 1) % Math.Max(1, options.SurrogateSteps / 5) == 0)
                log?.Invoke(FormattableString.Invariant($"[routers] surrogate {s + 1}/{options.SurrogateSteps}: error {recentErrors.Average():P1}"));
        }

        // Phase 2: routers through the surrogate, gated by its error.
        int updates = 0, skips = 0;
        int annealSteps = Math.Max(1, options.RouterSteps + options.JointSteps);
        double Tau(int step) => options.TauStart + (options.TauEnd - options.TauStart) * step / annealSteps;
        foreach (var p in surrogate.parameters()) p.requires_grad = true;
        for (int s = 0; s < options.RouterSteps; s++)
        {
            double tau = Tau(s);
            if (recentErrors.Count > 0 && recentErrors.Average() <= options.SurrogateThreshold)     // no measured error yet: closed
            {
                using var scope = NewDisposeScope();
                var budgets = tensor(Enumerable.Range(0, options.BudgetsPerStep).Select(_ => (float)Budget()).ToArray());   // (N)
                var (a, m) = routers.call(budgets);                                                                       // (N, L, K)
                // Straight-through samples: the latency and the surrogate see the hard sub-network the sample picks
                // (what argmax routing deploys), the gradient flows through the soft sample.
                var ya = Relax(GumbelSoftmax.Sample(a, tau));
                var ym = Relax(GumbelSoftmax.Sample(m, tau));
                var predicted = surrogate.call(cat([ya.reshape(budgets.shape[0], -1), ym.reshape(budgets.shape[0], -1)], 1));   // (N)
                var latency = LatencyLoss(RelativeError(ExpectedLatency(ya, ym), budgets));                                  // (N)
                var loss = (predicted + options.LatencyWeight * latency).mean();
                routerOptimizer.zero_grad();
                smOptimizer.zero_grad();
                loss.backward();
                routerOptimizer.step();                                                 // the SM is not stepped here
                updates++;
            }
            else skips++;
            FitSurrogate(RouterSample(Budget(), tau));
            if ((s + 1) % Math.Max(1, options.RouterSteps / 5) == 0)
                log?.Invoke(FormattableString.Invariant($"[routers] routers {s + 1}/{options.RouterSteps}: surrogate error {recentErrors.Average():P1}, {updates} updates, {skips} skipped"));
        }

        // Phase 3: joint fine-tuning of model and routers on hard, straight-through sub-networks.
        var lm = model.Model;
        foreach (var p in lm.parameters()) p.requires_grad = true;
        using var modelOptimizer = optim.AdamW(lm.parameters(), options.ModelLearningRate, beta1: 0.9, beta2: 0.95, weight_decay: 0.1);
        double jointLoss = double.NaN, latencyLoss = double.NaN;
        lm.train();
        for (int s = 0; s < options.JointSteps; s++)
        {
            using var scope = NewDisposeScope();
            double tau = Tau(options.RouterSteps + s);
            double budget = Budget();
            var budgets = tensor(new[] { (float)budget });
            var (a, m) = routers.call(budgets);
            var ya = GumbelSoftmax.Sample(a, tau);                                      // (1, L, Ka)
            var ym = GumbelSoftmax.Sample(m, tau);
            var sta = StraightThrough(ya);                                              // value one-hot, gradient soft
            var stm = StraightThrough(ym);
            var ai = ya[0].argmax(-1).data<long>().ToArray();
            var mi = ym[0].argmax(-1).data<long>().ToArray();
            var widths = new ElasticWidths(ai.Zip(mi, (h, k) => heads[h] with { MlpNeurons = mlps[k] }).ToArray());
            var gates = Enumerable.Range(0, L).Select(i => (sta[0, i, ai[i]], stm[0, i, mi[i]])).ToList();
            var tokens = Batch();
            var inputs = tokens.narrow(1, 0, seqLen);
            var targets = tokens.narrow(1, 1, seqLen).reshape(-1);
            Tensor teacher;
            using (no_grad()) teacher = nn.functional.log_softmax(model.Forward(inputs, ElasticWidths.Full(config)).reshape(-1, config.VocabSize), 1);
            var logits = model.Forward(inputs, widths, gates: gates).reshape(-1, config.VocabSize);
            var ce = nn.functional.cross_entropy(logits, targets);
            var kd = (teacher.exp() * (teacher - nn.functional.log_softmax(logits, 1))).sum(1).mean();
            var latency = LatencyLoss(RelativeError(ExpectedLatency(ya, ym), budgets)).mean();
            var loss = ce + kd + options.LatencyWeight * latency;
            modelOptimizer.zero_grad();
            routerOptimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(lm.parameters(), 1.0);
            modelOptimizer.step();
            routerOptimizer.step();
            jointLoss = ce.item<float>();
            latencyLoss = latency.item<float>();
            if ((s + 1) % Math.Max(1, options.JointSteps / 5) == 0)
                log?.Invoke(FormattableString.Invariant($"[routers] joint {s + 1}/{options.JointSteps}: LM loss {jointLoss:F3}, latency loss {latencyLoss:F4}"));
        }
        lm.eval();
        foreach (var p in lm.parameters()) p.requires_grad = false;
        return new RouterTrainingResult(recentErrors.Count > 0 ? recentErrors.Average() : double.NaN, updates, skips, jointLoss, latencyLoss);
    }
}
