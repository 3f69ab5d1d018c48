// Advantage actor-critic (Mnih et al. 2016, synchronous; GA3C's n-step update, Babaeizadeh et al. 2017): E copies of
// the environment step in lockstep for n steps; returns are bootstrapped from V at the last state; the loss is
// −A·log π(a|s) − β·H(π(·|s)) + c_v·½(R − V)², averaged over the n·E samples; gradients clipped to a global norm;
// RMSProp. The score the search ranks is the mean return of the last 20 training episodes (a trailing window, as
// HyperTrick's experiments report).
// Deviations from GA3C: synchronous environments instead of GA3C's asynchronous predictor/trainer queues (the update
// is the same n-step A2C update, without policy lag); RMSProp with Stable-Baselines3's constants (α 0.99, ε 1e-5,
// clip 0.5, c_v 0.5) rather than GA3C's (ε 0.1, clip 40) because we average the loss over the batch, GA3C sums it;
// truncated episodes (Gym's TimeLimit) bootstrap from V of the last observation instead of counting as terminal.
using Condense.Core;
using Condense.Core.Data;

namespace Condense.Search.Rl;

/// <summary>A2C hyperparameters.</summary>
/// <param name="LearningRate">RMSProp step size.</param>
/// <param name="Gamma">Discount γ.</param>
/// <param name="NSteps">n (GA3C's t_max): steps per environment between updates.</param>
/// <param name="Entropy">β, the entropy bonus weight.</param>
/// <param name="Envs">Environments stepped in lockstep.</param>
/// <param name="Hidden">Units per hidden layer.</param>
/// <param name="Layers">Hidden layers.</param>
/// <param name="ValueCoef">c_v.</param>
/// <param name="MaxGradNorm">Global gradient-norm clip.</param>
public sealed record A2COptions(double LearningRate = 7e-4, double Gamma = 0.99, int NSteps = 5, double Entropy = 0.0, int Envs = 8,
    int Hidden = 64, int Layers = 1, double ValueCoef = 0.5, double MaxGradNorm = 0.5)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new InputException($"a2c: LearningRate = {LearningRate}: need > 0");
        if (!(Gamma > 0 && Gamma <= 1)) throw new InputException($"a2c: Gamma = {Gamma}: need 0 < γ <= 1");
        if (NSteps < 1 || NSteps > 1000) throw new InputException($"a2c: NSteps = {NSteps}: need 1..1000");
        if (!(Entropy >= 0) || !double.IsFinite(Entropy)) throw new InputException($"a2c: Entropy = {Entropy}: need >= 0");
        if (Envs < 1 || Hidden < 1 || Layers < 1) throw new InputException("a2c: Envs, Hidden and Layers must be at least 1");
    }
}

/// <summary>An A2C learner on one environment kind, resumable from <see cref="Save"/>.</summary>
public sealed class A2CAgent
{
    private const int Window = 20;
    private const double RmsDecay = 0.99, RmsEps = 1e-5;
    private readonly IEnvironment[] _envs;
    private readonly ActorCritic _net;
    private double[] _params;
    private double[] _square;
    private readonly double[][] _obs;
    private readonly double[] _episodeReturn;
    private readonly int[] _episodeLength;
    private readonly Queue<double> _recent = new();
    private SplitMix64 _rng;

    /// <summary>A fresh agent on <paramref name="environment"/> seeded by <paramref name="seed"/>.</summary>
    public A2CAgent(string environment, A2COptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Environment = environment;
        _envs = [.. Enumerable.Range(0, options.Envs).Select(_ => Environments.Create(environment))];
        _net = new ActorCritic(_envs[0].ObservationSize, _envs[0].Actions, options.Hidden, options.Layers);
        _rng = new SplitMix64(seed);
        _params = _net.Initialize(ref _rng);
        _square = new double[_net.Count];
        _obs = [.. _envs.Select(e => new double[e.ObservationSize])];
        _episodeReturn = new double[options.Envs];
        _episodeLength = new int[options.Envs];
        for (int e = 0; e < _envs.Length; e++) _envs[e].Reset(ref _rng, _obs[e]);
    }

    /// <summary>The hyperparameters.</summary>
    public A2COptions Options { get; }

    /// <summary>The environment's name.</summary>
    public string Environment { get; }

    /// <summary>Environment steps taken (all environments together).</summary>
    public long Steps { get; private set; }

    /// <summary>Episodes finished.</summary>
    public long Episodes { get; private set; }

    /// <summary>Mean return of the last 20 finished episodes (NaN before the first).</summary>
    public double TrailingReturn => _recent.Count == 0 ? double.NaN : _recent.Average();

    /// <summary>True once a gradient or parameter became non-finite (training diverged).</summary>
    public bool Diverged { get; private set; }

    /// <summary>Trains until at least <paramref name="totalSteps"/> environment steps were taken.</summary>
    public void TrainUntil(long totalSteps, CancellationToken cancellation = default)
    {
        int n = Options.NSteps, envs = _envs.Length, obsSize = _net.Inputs;
        var states = new double[n * envs][];
        for (int i = 0; i < states.Length; i++) states[i] = new double[obsSize];
        var actions = new int[n * envs];
        var rewards = new double[n * envs];
        var dones = new bool[n * envs];
        var pass = _net.NewPass();
        var scratch = _net.NewScratch();
        var grad = new double[_net.Count];
        var dLogits = new double[_net.Actions];
        var final = new double[obsSize];
        while (Steps < totalSteps && !Diverged)
        {
            cancellation.ThrowIfCancellationRequested();
            for (int t = 0; t < n; t++)
            {
                for (int e = 0; e < envs; e++)
                {
                    int i = t * envs + e;
                    _obs[e].CopyTo(states[i], 0);
                    _net.Forward(_params, _obs[e], pass);
                    int a = Sample(pass.Probs);
                    actions[i] = a;
                    var (r, terminated) = _envs[e].Step(a, _obs[e]);
                    _episodeReturn[e] += r;
                    _episodeLength[e]++;
                    bool truncated = !terminated && _episodeLength[e] >= _envs[e].MaxSteps;
                    if (truncated)
                    {
                        // Time ran out, the task did not end: bootstrap from the state reached.
                        _obs[e].CopyTo(final, 0);
                        _net.Forward(_params, final, pass);
                        r += Options.Gamma * pass.Value;
                    }
                    rewards[i] = r;
                    dones[i] = terminated || truncated;
                    if (dones[i])
                    {
                        _recent.Enqueue(_episodeReturn[e]);
                        if (_recent.Count > Window) _recent.Dequeue();
                        Episodes++;
                        _episodeReturn[e] = 0;
                        _episodeLength[e] = 0;
                        _envs[e].Reset(ref _rng, _obs[e]);
                    }
                }
            }
            Steps += n * envs;
            Update(states, actions, rewards, dones, pass, scratch, grad, dLogits);
        }
    }

    private int Sample(double[] probs)
    {
        double u = _rng.NextDouble(), c = 0;
        for (int a = 0; a < probs.Length - 1; a++)
        {
            c += probs[a];
            if (u < c) return a;
        }
        return probs.Length - 1;
    }

    private void Update(double[][] states, int[] actions, double[] rewards, bool[] dones, ActorCritic.Pass pass, double[][] scratch,
        double[] grad, double[] dLogits)
    {
        int n = Options.NSteps, envs = _envs.Length, batch = n * envs;
        var returns = new double[batch];
        for (int e = 0; e < envs; e++)
        {
            _net.Forward(_params, _obs[e], pass);
            double R = pass.Value;
            for (int t = n - 1; t >= 0; t--)
            {
                int i = t * envs + e;
                R = rewards[i] + (dones[i] ? 0 : Options.Gamma * R);
                returns[i] = R;
            }
        }
        Array.Clear(grad);
        double scale = 1.0 / batch;
        for (int i = 0; i < batch; i++)
        {
            _net.Forward(_params, states[i], pass);
            double advantage = returns[i] - pass.Value;
            double entropy = 0;
            for (int a = 0; a < _net.Actions; a++) entropy -= pass.Probs[a] * pass.LogProbs[a];
            for (int a = 0; a < _net.Actions; a++)
            {
                double pg = advantage * (pass.Probs[a] - (a == actions[i] ? 1 : 0));
                double ent = Options.Entropy * pass.Probs[a] * (pass.LogProbs[a] + entropy);
                dLogits[a] = (pg + ent) * scale;
            }
            double dValue = Options.ValueCoef * (pass.Value - returns[i]) * scale;
            _net.Backward(_params, states[i], pass, dLogits, dValue, grad, scratch);
        }
        double norm = Math.Sqrt(grad.Sum(g => g * g));
        if (!double.IsFinite(norm))
        {
            Diverged = true;
            return;
        }
        double clip = norm > Options.MaxGradNorm ? Options.MaxGradNorm / norm : 1;
        for (int k = 0; k < grad.Length; k++)
        {
            double g = grad[k] * clip;
            _square[k] = RmsDecay * _square[k] + (1 - RmsDecay) * g * g;
            _params[k] -= Options.LearningRate * g / (Math.Sqrt(_square[k]) + RmsEps);
        }
    }

    /// <summary>The agent's whole state (weights, optimizer, environments, episode statistics, random stream).</summary>
    public byte[] Save()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write("condense-a2c-1");
            w.Write(Environment);
            w.Write(Steps);
            w.Write(Episodes);
            w.Write(Diverged);
            WriteArray(w, _params);
            WriteArray(w, _square);
            w.Write(_rng.State);
            for (int e = 0; e < _envs.Length; e++)
            {
                WriteArray(w, _envs[e].SaveState());
                WriteArray(w, _obs[e]);
                w.Write(_episodeReturn[e]);
                w.Write(_episodeLength[e]);
            }
            WriteArray(w, [.. _recent]);
        }
        return ms.ToArray();
    }

    /// <summary>An agent restored from <see cref="Save"/>'s bytes; other bytes are an <see cref="InvalidDataException"/>.</summary>
    public static A2CAgent Load(byte[] bytes, A2COptions options)
    {
        using var r = new BinaryReader(new MemoryStream(bytes));
        try
        {
            if (r.ReadString() != "condense-a2c-1") throw new InvalidDataException("not an A2C checkpoint");
            var env = r.ReadString();
            var agent = new A2CAgent(env, options, 0);
            agent.Steps = r.ReadInt64();
            agent.Episodes = r.ReadInt64();
            agent.Diverged = r.ReadBoolean();
            agent._params = ReadArray(r, agent._net.Count);
            agent._square = ReadArray(r, agent._net.Count);
            agent._rng = new SplitMix64(r.ReadUInt64());
            for (int e = 0; e < agent._envs.Length; e++)
            {
                agent._envs[e].LoadState(ReadArray(r, 16));
                ReadArray(r, agent._obs[e].Length).CopyTo(agent._obs[e], 0);
                agent._episodeReturn[e] = r.ReadDouble();
                agent._episodeLength[e] = r.ReadInt32();
            }
            foreach (var x in ReadArray(r, Window)) agent._recent.Enqueue(x);
            return agent;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("truncated A2C checkpoint", ex);
        }
    }

    private static void WriteArray(BinaryWriter w, double[] a)
    {
        w.Write(a.Length);
        foreach (var x in a) w.Write(x);
    }

    private static double[] ReadArray(BinaryReader r, int max)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > max) throw new InvalidDataException($"array of {n} values where at most {max} fit");
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.ReadDouble();
        return a;
    }
}
