// The paper's domain as a search objective: an A2C agent learning a classic-control task, trained in equal phases of
// environment steps; the score of a phase is the agent's trailing training return; the cost is the environment steps
// (the compute unit the study compares schedulers by). Between phases the agent's whole state is kept in memory for
// workers of this process and written to the trial's checkpoint folder (atomically), from which a worker elsewhere,
// or after a lost lease, resumes.
using Condense.Core.IO;
using Condense.Search.Running;

namespace Condense.Search.Rl;

/// <summary>A2C on <paramref name="environment"/>, <paramref name="stepsPerPhase"/> environment steps per phase.</summary>
/// <param name="environment">"cartpole" or "acrobot".</param>
/// <param name="stepsPerPhase">Environment steps per phase.</param>
/// <param name="fixedOptions">Hyperparameters not searched (the searched ones override them).</param>
public sealed class A2CObjective(string environment, long stepsPerPhase, A2COptions? fixedOptions = null) : IPhasedObjective
{
    private readonly Dictionary<long, (int Phase, A2CAgent Agent)> _live = [];
    private readonly A2COptions _fixed = fixedOptions ?? new A2COptions();

    /// <summary>The search space the HyperTrick paper's hyperparameters span (GA3C's learning rate, discount, t_max, β).</summary>
    public const string DefaultSpace = "lr=log(1e-4,1e-2);gamma=uniform(0.9,0.999);nstep=int(1,20);entropy=log(1e-4,1e-1)";

    /// <inheritdoc/>
    public string Name => $"a2c(env={environment},phase_steps={stepsPerPhase})";

    /// <summary>
    /// The objective a study records as "a2c(env=cartpole,phase_steps=20000)", so a worker joining the study builds the
    /// same one; anything else is an input error naming the spec.
    /// </summary>
    public static A2CObjective Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var m = System.Text.RegularExpressions.Regex.Match(spec.Trim(), @"^a2c\(env=([a-z]+),phase_steps=(\d{1,12})\)$");
        if (!m.Success) throw new Condense.Core.InputException($"objective '{spec}': expected a2c(env=NAME,phase_steps=N)");
        Environments.Create(m.Groups[1].Value);
        long steps = long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (steps < 1) throw new Condense.Core.InputException($"objective '{spec}': phase_steps must be at least 1");
        return new A2CObjective(m.Groups[1].Value, steps);
    }

    /// <summary>The options of a trial: its searched values over the fixed ones.</summary>
    public A2COptions OptionsFor(TrialContext trial)
    {
        ArgumentNullException.ThrowIfNull(trial);
        var v = trial.Config.Values;
        return _fixed with
        {
            LearningRate = v.TryGetValue("lr", out var lr) ? lr.AsDouble : _fixed.LearningRate,
            Gamma = v.TryGetValue("gamma", out var g) ? g.AsDouble : _fixed.Gamma,
            NSteps = v.TryGetValue("nstep", out var n) ? (int)n.AsLong : _fixed.NSteps,
            Entropy = v.TryGetValue("entropy", out var b) ? b.AsDouble : _fixed.Entropy,
        };
    }

    /// <inheritdoc/>
    public PhaseResult RunPhase(TrialContext trial, int phase, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(trial);
        var options = OptionsFor(trial);
        A2CAgent agent;
        lock (_live)
        {
            agent = _live.TryGetValue(trial.Number, out var live) && live.Phase == phase - 1 ? live.Agent : null!;
        }
        agent ??= Restore(trial, phase, options);
        long before = agent.Steps;
        agent.TrainUntil(phase * stepsPerPhase, cancellation);
        // One checkpoint per phase (the previous one kept): a worker that dies after writing phase p but before
        // reporting it leaves phase p − 1's checkpoint for the worker that reruns p.
        Directory.CreateDirectory(trial.CheckpointDir);
        AtomicFile.WriteAllBytes(CheckpointPath(trial, phase), agent.Save());
        var old = CheckpointPath(trial, phase - 2);
        if (File.Exists(old)) File.Delete(old);
        lock (_live) _live[trial.Number] = (phase, agent);
        double score = agent.Diverged ? double.NaN : agent.TrailingReturn;
        return new PhaseResult(score, agent.Steps - before);
    }

    private A2CAgent Restore(TrialContext trial, int phase, A2COptions options)
    {
        if (phase == 1) return new A2CAgent(environment, options, trial.Seed);
        var path = CheckpointPath(trial, phase - 1);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: no checkpoint to resume trial {trial.Number} at phase {phase}");
        return A2CAgent.Load(File.ReadAllBytes(path), options);
    }

    /// <summary>The checkpoint written after <paramref name="phase"/>.</summary>
    public static string CheckpointPath(TrialContext trial, int phase) =>
        Path.Combine(trial.CheckpointDir, $"agent-phase{phase:D3}.bin");

    /// <inheritdoc/>
    public void Release(long trial)
    {
        lock (_live) _live.Remove(trial);
    }
}
