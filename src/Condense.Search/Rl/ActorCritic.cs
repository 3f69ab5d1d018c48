// The actor-critic network of the A2C objective: a tanh MLP trunk shared by a softmax policy head and a value head,
// with its backward pass written out (the network is a few thousand weights: a tensor library's per-op overhead would
// cost more than the arithmetic). Parameters, gradients and optimizer state are flat double arrays, so a checkpoint is
// one array and the arithmetic is plain scalar IEEE code: the same result on every CPU.
using Condense.Core.Data;

namespace Condense.Search.Rl;

/// <summary>A tanh MLP with a policy head (logits) and a value head.</summary>
public sealed class ActorCritic
{
    private readonly int[] _sizes;       // input, hidden..., (heads separate)
    private readonly int[] _offsets;     // start of W_l in the flat array, per trunk layer; then policy W, b, value w, b
    private readonly int _policyW, _policyB, _valueW, _valueB;

    /// <summary>A network for <paramref name="inputs"/> observations and <paramref name="actions"/> actions.</summary>
    public ActorCritic(int inputs, int actions, int hidden, int layers)
    {
        Inputs = inputs;
        Actions = actions;
        _sizes = [inputs, .. Enumerable.Repeat(hidden, layers)];
        _offsets = new int[layers];
        int o = 0;
        for (int l = 0; l < layers; l++)
        {
            _offsets[l] = o;
            o += _sizes[l + 1] * _sizes[l] + _sizes[l + 1];
        }
        _policyW = o; o += actions * hidden;
        _policyB = o; o += actions;
        _valueW = o; o += hidden;
        _valueB = o; o += 1;
        Count = o;
    }

    /// <summary>Observation length.</summary>
    public int Inputs { get; }

    /// <summary>Actions.</summary>
    public int Actions { get; }

    /// <summary>Number of parameters.</summary>
    public int Count { get; }

    private int Layers => _offsets.Length;

    private int Hidden => _sizes[^1];

    /// <summary>Glorot-uniform weights, zero biases; the policy head scaled by 0.01 so the first policy is near uniform.</summary>
    public double[] Initialize(ref SplitMix64 rng)
    {
        var p = new double[Count];
        for (int l = 0; l < Layers; l++) Fill(p, _offsets[l], _sizes[l + 1], _sizes[l], 1.0, ref rng);
        Fill(p, _policyW, Actions, Hidden, 0.01, ref rng);
        Fill(p, _valueW, 1, Hidden, 1.0, ref rng);
        return p;
    }

    private static void Fill(double[] p, int at, int rows, int cols, double scale, ref SplitMix64 rng)
    {
        double limit = scale * Math.Sqrt(6.0 / (rows + cols));
        for (int i = 0; i < rows * cols; i++) p[at + i] = (rng.NextDouble() * 2 - 1) * limit;
    }

    /// <summary>Activations of one forward pass (reused buffers).</summary>
    public sealed class Pass
    {
        internal Pass(ActorCritic net)
        {
            Hidden = [.. net._sizes.Skip(1).Select(n => new double[n])];
            Probs = new double[net.Actions];
            LogProbs = new double[net.Actions];
        }

        internal double[][] Hidden { get; }
        /// <summary>π(·|s).</summary>
        public double[] Probs { get; }
        /// <summary>log π(·|s).</summary>
        public double[] LogProbs { get; }
        /// <summary>V(s).</summary>
        public double Value { get; internal set; }
    }

    /// <summary>Buffers for <see cref="Forward"/>.</summary>
    public Pass NewPass() => new(this);

    /// <summary>Policy and value of <paramref name="x"/>.</summary>
    public void Forward(double[] p, ReadOnlySpan<double> x, Pass pass)
    {
        ReadOnlySpan<double> input = x;
        for (int l = 0; l < Layers; l++)
        {
            int inN = _sizes[l], outN = _sizes[l + 1], w = _offsets[l], b = w + outN * inN;
            var h = pass.Hidden[l];
            for (int i = 0; i < outN; i++)
            {
                double z = p[b + i];
                int row = w + i * inN;
                for (int j = 0; j < inN; j++) z += p[row + j] * input[j];
                h[i] = Math.Tanh(z);
            }
            input = h;
        }
        double max = double.NegativeInfinity;
        for (int a = 0; a < Actions; a++)
        {
            double z = p[_policyB + a];
            int row = _policyW + a * Hidden;
            for (int j = 0; j < Hidden; j++) z += p[row + j] * input[j];
            pass.LogProbs[a] = z;
            max = Math.Max(max, z);
        }
        double sum = 0;
        for (int a = 0; a < Actions; a++) sum += Math.Exp(pass.LogProbs[a] - max);
        double logSum = max + Math.Log(sum);
        for (int a = 0; a < Actions; a++)
        {
            pass.LogProbs[a] -= logSum;
            pass.Probs[a] = Math.Exp(pass.LogProbs[a]);
        }
        double v = p[_valueB];
        for (int j = 0; j < Hidden; j++) v += p[_valueW + j] * input[j];
        pass.Value = v;
    }

    /// <summary>
    /// Adds to <paramref name="grad"/> the gradient of one sample's loss, given d(loss)/d(logits) and d(loss)/d(value),
    /// for the activations in <paramref name="pass"/> (from <see cref="Forward"/> on <paramref name="x"/>).
    /// </summary>
    public void Backward(double[] p, ReadOnlySpan<double> x, Pass pass, ReadOnlySpan<double> dLogits, double dValue, double[] grad,
        double[][] scratch)
    {
        var top = pass.Hidden[^1];
        var dh = scratch[Layers - 1];
        Array.Clear(dh);
        for (int a = 0; a < Actions; a++)
        {
            double g = dLogits[a];
            if (g == 0) continue;
            grad[_policyB + a] += g;
            int row = _policyW + a * Hidden;
            for (int j = 0; j < Hidden; j++)
            {
                grad[row + j] += g * top[j];
                dh[j] += g * p[row + j];
            }
        }
        grad[_valueB] += dValue;
        for (int j = 0; j < Hidden; j++)
        {
            grad[_valueW + j] += dValue * top[j];
            dh[j] += dValue * p[_valueW + j];
        }
        for (int l = Layers - 1; l >= 0; l--)
        {
            int inN = _sizes[l], outN = _sizes[l + 1], w = _offsets[l], b = w + outN * inN;
            var h = pass.Hidden[l];
            ReadOnlySpan<double> input = l == 0 ? x : pass.Hidden[l - 1];
            var dz = scratch[l];
            for (int i = 0; i < outN; i++) dz[i] *= 1 - h[i] * h[i];
            double[]? dIn = l > 0 ? scratch[l - 1] : null;
            if (dIn is not null) Array.Clear(dIn);
            for (int i = 0; i < outN; i++)
            {
                double g = dz[i];
                grad[b + i] += g;
                int row = w + i * inN;
                for (int j = 0; j < inN; j++)
                {
                    grad[row + j] += g * input[j];
                    if (dIn is not null) dIn[j] += g * p[row + j];
                }
            }
        }
    }

    /// <summary>Scratch buffers for <see cref="Backward"/>.</summary>
    public double[][] NewScratch() => [.. _sizes.Skip(1).Select(n => new double[n])];
}
