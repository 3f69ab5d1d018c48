// Flextron's elastic continued training (Cai et al., ICML 2024, section 3.1): after the units are sorted by
// importance (NestedOrder), every step trains the full model and randomly sampled sub-networks on the same batch, so
// that every nested width becomes good while all share one set of weights. The full model learns from the text (LM
// loss); each sub-network learns from the text and from the full model's logits (KL at temperature 1, the full
// model's logits detached), the logit distillation that ModelOpt and Flextron's follow-ups use.
//
//   L = [ w · CE(full) + Σ_j ( CE(sub_j) + α · KL(p_full ‖ p_sub_j) ) ] / (w + N)
//
// with w = 1 by default; a larger w (FullWeight) gives the full model a larger share of each step's gradient.
//
// Sub-network j of step s draws, per layer and independently, one MLP width and one head-group count from the
// candidate sets, seeded by (seed, s, j), so a resumed run draws the same sub-networks. With the sandwich rule
// (Sandwich; Yu & Huang, "Universally slimmable networks", 2019, and BigNAS), sub-network 0 of every step is instead
// the narrowest one, so each step trains both ends of the family and N − 1 random ones in between: the same number of
// passes per step as without it. With SameWidthEveryLayer, a random sub-network draws one MLP width and one head-group
// count that every layer takes (the first layer's draw of the per-layer scheme), so the uniform widths that a one-width
// export and the study's table serve are trained directly (a per-layer draw hits a given one with odds 1 in 16^L).
//
// Deviations: the paper trains GPT-3 / LLaMA-2 7B on 7.63% of their pretraining tokens; here the budget is
// steps × batch × sequence tokens of TinyStories text. Flextron does not say how sub-networks are sampled or whether
// the sub-networks are distilled from the full one; uniform per-layer sampling and logit KD are Condense's choices.
// Also Condense's, and off by default: a fixed teacher for the full width (Teacher: the anchor to the original model),
// a weight on the full model's loss (FullWeight), one width for every layer of a draw (SameWidthEveryLayer) and the
// sandwich rule (Sandwich). Query heads within a kept GQA group as a further width (Candidates.QueryFractions) are
// Condense's too, and off by default: the paper's models are multi-head, where every head is its own group.
using System.Globalization;
using Condense.Core.Training;
using Condense.Language.Text;
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>Settings of an elastic continued-training run.</summary>
public sealed record ElasticTrainingOptions
{
    /// <summary>Run folder for checkpoints, metrics and plots.</summary>
    public required string RunDir { get; init; }
    /// <summary>Training steps.</summary>
    public long Steps { get; init; } = 300;
    /// <summary>Windows per batch.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Predicted tokens per window.</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Peak learning rate (AdamW, cosine to a tenth, linear warm-up over a tenth of the steps).</summary>
    public double LearningRate { get; init; } = 2e-4;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Random sub-networks per step, besides the full model.</summary>
    public int RandomSubnetworks { get; init; } = 2;
    /// <summary>Weight w of the full model's loss against each random sub-network's (1: equal).</summary>
    public double FullWeight { get; init; } = 1.0;
    /// <summary>
    /// The sandwich rule: the first of the <see cref="RandomSubnetworks"/> is the narrowest sub-network every step, the
    /// others stay random (so the passes per step do not change).
    /// </summary>
    public bool Sandwich { get; init; }
    /// <summary>Each random sub-network takes one MLP width and one head-group count in every layer (drawn once), not per layer.</summary>
    public bool SameWidthEveryLayer { get; init; }
    /// <summary>Weight α of the sub-networks' logit distillation from the full model.</summary>
    public double DistillWeight { get; init; } = 1.0;
    /// <summary>Candidate widths every layer may take.</summary>
    public required ElasticCandidates Candidates { get; init; }
    /// <summary>
    /// A fixed teacher for the full-width pass (logit KD with <see cref="DistillWeight"/>): set when a pruned model is
    /// retrained on its own against the original, so that it learns from the same signal as an elastic sub-network.
    /// </summary>
    public Models.LlamaForCausalLM? Teacher { get; init; }
    /// <summary>Seed of the windows and the sub-network draws.</summary>
    public long Seed { get; init; }
    /// <summary>Steps between checkpoints; 0 writes only the final one.</summary>
    public long CheckpointEvery { get; init; } = 100;
    /// <summary>Continue from the newest checkpoint in the run folder when there is one.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>How training progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
    /// <summary>Write TensorBoard events and loss plots into the run folder.</summary>
    public bool Plots { get; init; } = true;
    /// <summary>Resume even when the run folder's checkpoint was written with other settings.</summary>
    public bool AllowConfigChange { get; init; }
    /// <summary>Called with each step's 0-based index just before the step runs.</summary>
    public Action<long>? BeforeStep { get; init; }
}

/// <summary>What an elastic training run did.</summary>
public sealed record ElasticTrainingResult(long Steps, long TokensSeen, double FinalFullLoss, double FinalSubnetworkLoss, double ElapsedSeconds,
    long ResumedFromStep);

/// <summary>One training batch: its step (0-based) and (B, T + 1) tokens.</summary>
public sealed record ElasticBatch(long Step, Tensor Tokens) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Tokens.Dispose();
}

/// <summary>Trains every nested width of an importance-sorted model at once.</summary>
public static class ElasticTraining
{
    /// <summary>
    /// Trains <paramref name="model"/> (already sorted by <see cref="NestedOrder"/>) in place on windows of
    /// <paramref name="text"/>; resumes from the run folder's newest checkpoint.
    /// </summary>
    public static ElasticTrainingResult Train(ElasticLlama model, TokenCorpus text, ElasticTrainingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Steps < 1) throw Core.InputException.ForOption(nameof(options.Steps), $"{options.Steps}: must be at least 1");
        if (options.BatchSize < 1) throw Core.InputException.ForOption(nameof(options.BatchSize), $"{options.BatchSize}: must be at least 1");
        if (options.SeqLen < 2 || options.SeqLen >= model.Config.MaxSeqLen + 1)
            throw Core.InputException.ForOption(nameof(options.SeqLen), $"{options.SeqLen}: must be 2 .. {model.Config.MaxSeqLen}");
        if (!(options.FullWeight > 0) || !double.IsFinite(options.FullWeight))
            throw Core.InputException.ForOption(nameof(options.FullWeight), $"{options.FullWeight}: must be a positive number");
        if (options.RandomSubnetworks < 0)
            throw Core.InputException.ForOption(nameof(options.RandomSubnetworks), $"{options.RandomSubnetworks}: must be at least 0");
        if (options.Sandwich && options.RandomSubnetworks < 1)
            throw Core.InputException.ForOption(nameof(options.Sandwich), ": needs RandomSubnetworks of at least 1 (the narrowest takes the first)");
        options.Candidates.Validate(model.Config);
        var lm = model.Model;
        foreach (var p in lm.parameters()) p.requires_grad = true;
        lm.train();
        var configuration = new Dictionary<string, string>
        {
            ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["seq_len"] = options.SeqLen.ToString(CultureInfo.InvariantCulture),
            ["random_subnetworks"] = options.RandomSubnetworks.ToString(CultureInfo.InvariantCulture),
            ["distill_weight"] = options.DistillWeight.ToString("R", CultureInfo.InvariantCulture),
            ["candidates"] = options.Candidates.ToString(),
            ["teacher"] = options.Teacher is null ? "none" : "fixed",
        };
        // Written only when set, so that runs from before the option still resume.
        if (options.FullWeight != 1.0) configuration["full_weight"] = options.FullWeight.ToString("R", CultureInfo.InvariantCulture);
        if (options.Sandwich) configuration["sandwich"] = "true";
        if (options.SameWidthEveryLayer) configuration["same_width_every_layer"] = "true";
        var trainer = new Trainer(lm, new TrainerOptions
        {
            RunDir = options.RunDir,
            MaxSteps = options.Steps,
            Seed = options.Seed,
            LearningRate = options.LearningRate,
            MinLearningRate = options.LearningRate * 0.1,
            WarmupSteps = Math.Max(1, options.Steps / 10),
            WeightDecay = options.WeightDecay,
            Beta1 = 0.9,
            Beta2 = 0.95,
            GradClip = 1.0,
            CheckpointEvery = options.CheckpointEvery,
            Resume = options.Resume,
            Progress = options.Progress,
            Plots = options.Plots,
            TensorBoard = options.Plots,
            Description = "elastic",
            LogEvery = Math.Max(1, options.Steps / 20),
            Configuration = configuration,
            AllowConfigChange = options.AllowConfigChange,
        });

        IEnumerable<ElasticBatch> BatchesFrom(long step)
        {
            for (long s = step; s < options.Steps; s++)
            {
                options.BeforeStep?.Invoke(s);
                yield return new ElasticBatch(s, text.RandomWindows(options.BatchSize, options.SeqLen + 1, options.Seed, s * options.BatchSize));
            }
        }

        LossOutput Loss(ElasticBatch batch)
        {
            long T = options.SeqLen;
            var inputs = batch.Tokens.narrow(1, 0, T);                                  // (B, T)
            var targets = batch.Tokens.narrow(1, 1, T).reshape(-1);                     // (B·T)
            var full = model.Forward(inputs, ElasticWidths.Full(model.Config));         // (B, T, V)
            var fullLoss = nn.functional.cross_entropy(full.reshape(-1, full.shape[^1]), targets);
            var teacher = nn.functional.log_softmax(full.detach().reshape(-1, full.shape[^1]), 1);   // (B·T, V)
            Tensor total = fullLoss, subLm = zeros(1), kd = zeros(1);
            if (options.Teacher is { } fixedTeacher)
            {
                Tensor target;
                using (no_grad()) target = nn.functional.log_softmax(fixedTeacher.call(inputs).reshape(-1, full.shape[^1]), 1);
                var fullKl = (target.exp() * (target - nn.functional.log_softmax(full.reshape(-1, full.shape[^1]), 1))).sum(1).mean();
                total = total + options.DistillWeight * fullKl;
                kd = kd + fullKl.detach();
            }
            if (options.FullWeight != 1.0) total = options.FullWeight * total;   // the full model's terms, before the sub-networks join
            for (int j = 0; j < options.RandomSubnetworks; j++)
            {
                var widths = options.Sandwich && j == 0
                    ? options.Candidates.Smallest(model.Config)
                    : options.Candidates.Sample(model.Config, options.Seed, batch.Step, j, options.SameWidthEveryLayer);
                var logits = model.Forward(inputs, widths).reshape(-1, full.shape[^1]);  // (B·T, V)
                var ce = nn.functional.cross_entropy(logits, targets);
                var student = nn.functional.log_softmax(logits, 1);
                var kl = (teacher.exp() * (teacher - student)).sum(1).mean();         // KL(p_full ‖ p_sub)
                total = total + ce + options.DistillWeight * kl;
                subLm = subLm + ce.detach();
                kd = kd + kl.detach();
            }
            int n = Math.Max(1, options.RandomSubnetworks + (options.Teacher is null ? 0 : 1));
            return new LossOutput(total / (options.FullWeight + options.RandomSubnetworks), new Dictionary<string, Tensor>
            {
                ["lm_full"] = fullLoss.detach(), ["lm_sub"] = (subLm / n).squeeze(), ["kd_sub"] = (kd / n).squeeze(),
            });
        }

        var result = trainer.Fit(BatchesFrom, Loss, b => (int)b.Tokens.shape[0] * options.SeqLen, cancellation);
        lm.eval();
        foreach (var p in lm.parameters()) p.requires_grad = false;
        var metrics = MetricsLog.Read(System.IO.Path.Combine(options.RunDir, "metrics.jsonl"));
        return new ElasticTrainingResult(result.Steps, result.Steps * options.BatchSize * (long)options.SeqLen,
            metrics.Select(m => m.GetValueOrDefault("lm_full", double.NaN)).LastOrDefault(double.NaN),
            metrics.Select(m => m.GetValueOrDefault("lm_sub", double.NaN)).LastOrDefault(double.NaN),
            result.ElapsedSeconds, result.ResumedFromStep);
    }
}
