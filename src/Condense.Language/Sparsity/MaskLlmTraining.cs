using System.Globalization;
// MaskLLM mask-only training (NVlabs/MaskLLM, mask-only mode): the model's weights W stay frozen, only the gates
// learn. Each step samples soft masks M̃ with the linear schedules τ 4 → 0.05 and κ 1e2 → 5e2, runs the model
// with weights W ⊙ M̃, and minimises L = L_LM − λ_t Σ ‖W ⊙ M̃‖² with λ_t = λ (1 − t/T) (the regulariser rewards
// masks that keep large weights; W is detached so it only moves the gates). The gates' learning rate is 10x the
// base rate (the reference's lr-mult 10); Adam β (0.9, 0.95), eps 1e-5, weight decay 0.1 (which the reference applies to the
// gates too), clip 1.0, cosine to a tenth of the peak with no warmup.
//
// How the gradient reaches the gates without changing the model's code: the masked weights W ⊙ M̃ are written
// into the Linear's own (grad-requiring) weight, the LM loss is back-propagated to that weight (G = ∂L/∂W_eff),
// and then the chain rule ∂L/∂M̃ = G ⊙ W is applied by back-propagating the surrogate Σ M̃ ⊙ (G ⊙ W) through the
// tiny gate graph. That is the exact gradient of L_LM w.r.t. the gates, with no extra model forward.
//
// Deviations (scale): the paper trains LLaMA-2 7B for 2,000 steps × 256 × 4096 tokens on C4; here the budget is
// steps × batch × seq on TinyStories text (reported by the caller). The base LR is a parameter, since the
// reference's 5e-5 is tuned for 2,000 steps of 1M tokens.
using Condense.Core.Training;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Settings of a MaskLLM run. Defaults are the released LLaMA-2 scripts' where they apply.</summary>
public sealed record MaskLlmOptions
{
    /// <summary>Run folder for checkpoints, metrics and plots.</summary>
    public required string RunDir { get; init; }
    /// <summary>Training steps.</summary>
    public long Steps { get; init; } = 200;
    /// <summary>Windows per batch.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Predicted tokens per window (each window holds one more token).</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Base learning rate; the gates use <see cref="LrMult"/> times it.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Factor on <see cref="LearningRate"/> for the gates.</summary>
    public double LrMult { get; init; } = 10;
    /// <summary>AdamW weight decay, applied to the gates.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Gumbel-softmax temperature τ at the first step.</summary>
    public double TauStart { get; init; } = 4;
    /// <summary>Gumbel-softmax temperature τ at the last step.</summary>
    public double TauEnd { get; init; } = 0.05;
    /// <summary>Gate logit scale κ at the first step.</summary>
    public double ScaleStart { get; init; } = 1e2;
    /// <summary>Gate logit scale κ at the last step.</summary>
    public double ScaleEnd { get; init; } = 5e2;
    /// <summary>How strongly the prior mask biases the initial gates, in units of the gates' standard deviation.</summary>
    public double PriorStrength { get; init; } = 3;
    /// <summary>Weight regulariser λ at the first step (it decays linearly to 0).</summary>
    public double WeightReg { get; init; } = 1e-5;
    /// <summary>Seed of the gate initialisation, Gumbel noise and training windows.</summary>
    public long Seed { get; init; }
    /// <summary>Steps between checkpoints; 0 writes only the final one.</summary>
    public long CheckpointEvery { get; init; } = 100;
    /// <summary>Continue from the newest checkpoint in the run folder when there is one.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>How training progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
    /// <summary>Called with each step's 0-based index just before the step runs (e.g. to cancel a run at a known step).</summary>
    public Action<long>? BeforeStep { get; init; }
    /// <summary>Write TensorBoard events and loss plots into the run folder.</summary>
    public bool Plots { get; init; } = true;
    /// <summary>Resume even when the run folder's checkpoint was written with other settings.</summary>
    public bool AllowConfigChange { get; init; }

    /// <summary>Linear interpolation from <paramref name="start"/> to <paramref name="end"/> at step <paramref name="step"/> of <see cref="Steps"/>.</summary>
    public double Linear(double start, double end, long step) => start + (end - start) * step / Math.Max(1, Steps);
}

/// <summary>What a MaskLLM run did.</summary>
public sealed record MaskLlmResult(Dictionary<string, Tensor> Masks, long Steps, long TokensSeen, double FinalLmLoss,
    IReadOnlyList<double> Losses, double ElapsedSeconds, long ResumedFromStep);

/// <summary>One training batch: its step (0-based) and (B, T + 1) tokens.</summary>
public sealed record MaskLlmBatch(long Step, Tensor Tokens) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Tokens.Dispose();
}

/// <summary>Learns 2:4 masks for a LLaMA model's decoder linears with frozen weights.</summary>
public static class MaskLlmTraining
{
    /// <summary>
    /// The two-stage gradient (see the file header): writes W ⊙ M̃ into each linear's weight, back-propagates
    /// <paramref name="loss"/> to those weights (G = ∂L/∂(W ⊙ M̃)), and returns the loss and the surrogate
    /// Σ M̃ ⊙ (G ⊙ W), whose gradient with respect to whatever produced the soft masks M̃ equals the loss's.
    /// The linears' weights must require grad; <paramref name="soft"/> carries the graph to the gates.
    /// </summary>
    public static (Tensor Loss, Tensor Surrogate) MaskedLossAndSurrogate(IReadOnlyList<PrunedLinear> linears,
        IReadOnlyDictionary<string, Tensor> frozen, IReadOnlyDictionary<string, Tensor> soft, Func<Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(linears);
        ArgumentNullException.ThrowIfNull(frozen);
        ArgumentNullException.ThrowIfNull(soft);
        ArgumentNullException.ThrowIfNull(loss);
        using (no_grad())
        {
            foreach (var l in linears)
            {
                l.Weight.copy_(frozen[l.Name] * soft[l.Name]);
                l.Weight.grad?.zero_();
            }
        }
        var value = loss();
        value.backward();
        Tensor surrogate = zeros(1);
        foreach (var l in linears)
            surrogate = surrogate + (soft[l.Name] * (l.Weight.grad! * frozen[l.Name])).sum();   // ∂L/∂M̃ = G ⊙ W
        return (value, surrogate);
    }

    /// <summary>
    /// Trains gates for every pruned linear of <paramref name="model"/>, starting from <paramref name="priorMasks"/>
    /// (weight-shaped 0/1 masks, e.g. SparseGPT without update), on windows of <paramref name="text"/>. On return
    /// the model's pruned weights are the original weights under the hard (argmax) masks.
    /// </summary>
    public static MaskLlmResult Train(nn.Module<Tensor, Tensor> model, Text.TokenCorpus text,
        IReadOnlyDictionary<string, Tensor> priorMasks, MaskLlmOptions options, CancellationToken cancellation = default)
    {
        var linears = PrunableLinears.Of(model);
        var frozen = linears.ToDictionary(l => l.Name, l => l.Weight.detach().clone()); // W, (out, in)
        foreach (var p in model.parameters()) p.requires_grad = false;
        foreach (var l in linears) l.Weight.requires_grad = true;  // receives ∂L/∂(W ⊙ M̃), never stepped

        Determinism.Seed(options.Seed);
        using var gates = new MaskGates(linears.Select(l => (l.Name, l.Weight.shape)).ToList());
        gates.InjectPrior(priorMasks, options.PriorStrength);

        var trainer = new Trainer(gates, new TrainerOptions
        {
            RunDir = options.RunDir,
            MaxSteps = options.Steps,
            Seed = options.Seed,
            LearningRate = options.LearningRate * options.LrMult,
            MinLearningRate = options.LearningRate * options.LrMult * 0.1,
            WeightDecay = options.WeightDecay,
            Beta1 = 0.9,
            Beta2 = 0.95,
            Eps = 1e-5,
            GradClip = 1.0,
            CheckpointEvery = options.CheckpointEvery,
            Resume = options.Resume,
            Progress = options.Progress,
            Plots = options.Plots,
            TensorBoard = options.Plots,
            Description = "maskllm",
            LogEvery = Math.Max(1, options.Steps / 20),
            Configuration = new Dictionary<string, string>
            {
                ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
                ["seq_len"] = options.SeqLen.ToString(CultureInfo.InvariantCulture),
                ["lr_mult"] = options.LrMult.ToString("R", CultureInfo.InvariantCulture),
                ["tau"] = string.Create(CultureInfo.InvariantCulture, $"{options.TauStart:R}->{options.TauEnd:R}"),
                ["scale"] = string.Create(CultureInfo.InvariantCulture, $"{options.ScaleStart:R}->{options.ScaleEnd:R}"),
                ["prior_strength"] = options.PriorStrength.ToString("R", CultureInfo.InvariantCulture),
                ["weight_reg"] = options.WeightReg.ToString("R", CultureInfo.InvariantCulture),
            },
            AllowConfigChange = options.AllowConfigChange,
        });

        IEnumerable<MaskLlmBatch> BatchesFrom(long step)
        {
            for (long s = step; s < options.Steps; s++)
            {
                options.BeforeStep?.Invoke(s);
                yield return new MaskLlmBatch(s, text.RandomWindows(options.BatchSize, options.SeqLen + 1, options.Seed, s * options.BatchSize));
            }
        }

        LossOutput Loss(MaskLlmBatch batch)
        {
            double tau = options.Linear(options.TauStart, options.TauEnd, batch.Step);
            double scale = options.Linear(options.ScaleStart, options.ScaleEnd, batch.Step);
            double lambda = options.Linear(options.WeightReg, 0, batch.Step);
            var soft = gates.SoftMasks(scale, tau);                                      // (out, in) each, graph to gates
            long T = batch.Tokens.shape[1] - 1;
            var (lm, surrogate) = MaskedLossAndSurrogate(linears, frozen, soft, () =>
            {
                var logits = model.call(batch.Tokens.narrow(1, 0, T));                   // (B, T, V)
                return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.Tokens.narrow(1, 1, T).reshape(-1));
            });
            Tensor reg = zeros(1);
            foreach (var l in linears) reg = reg + (frozen[l.Name] * soft[l.Name]).pow(2).sum();
            var objective = surrogate - lambda * reg;
            // Gradient of the objective, value of the true loss L_LM − λ_t R (what the logs should show).
            var loss = objective - objective.detach() + (lm.detach() - lambda * reg.detach());
            return new LossOutput(loss.squeeze(), new Dictionary<string, Tensor>
            {
                ["lm_loss"] = lm.detach(), ["weight_reg"] = reg.detach().squeeze(), ["tau"] = tensor((float)tau), ["scale"] = tensor((float)scale),
            });
        }

        TrainResult result;
        try
        {
            result = trainer.Fit(BatchesFrom, Loss, b => (int)b.Tokens.shape[0] * options.SeqLen, cancellation);
        }
        finally
        {
            foreach (var l in linears) l.Weight.requires_grad = false;
        }

        var masks = gates.HardMasks();
        using (no_grad())
            foreach (var l in linears) l.Weight.copy_(frozen[l.Name] * masks[l.Name]);
        foreach (var w in frozen.Values) w.Dispose();
        var lmLosses = MetricsLog.Read(System.IO.Path.Combine(options.RunDir, "metrics.jsonl"))
            .Select(r => r.GetValueOrDefault("lm_loss", double.NaN)).ToList();
        return new MaskLlmResult(masks, result.Steps, result.Steps * options.BatchSize * (long)options.SeqLen,
            lmLosses.LastOrDefault(double.NaN), lmLosses, result.ElapsedSeconds, result.ResumedFromStep);
    }
}
