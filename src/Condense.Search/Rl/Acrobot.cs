// Acrobot-v1 with the dynamics of Gym's reference (classic_control/acrobot.py, Sutton & Barto's "book" equations,
// one RK4 step of dt = 0.2, torques {-1, 0, +1}, velocities clipped to 4π and 9π, angles wrapped to [-π, π]): reward
// -1 per step and 0 on the step that swings the tip above the bar (-cos θ1 - cos(θ1 + θ2) > 1), truncated at 500 steps;
// start state uniform in ±0.1; observation (cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2).
using Condense.Core.Data;

namespace Condense.Search.Rl;

/// <summary>Gym's Acrobot-v1.</summary>
public sealed class Acrobot : IEnvironment
{
    private const double Dt = 0.2, L1 = 1.0, M1 = 1.0, M2 = 1.0, Lc1 = 0.5, Lc2 = 0.5, I1 = 1.0, I2 = 1.0, G = 9.8;
    private const double MaxVel1 = 4 * Math.PI, MaxVel2 = 9 * Math.PI;
    private readonly double[] _s = new double[4];

    /// <inheritdoc/>
    public int ObservationSize => 6;

    /// <inheritdoc/>
    public int Actions => 3;

    /// <inheritdoc/>
    public int MaxSteps => 500;

    /// <inheritdoc/>
    public void Reset(ref SplitMix64 rng, Span<double> observation)
    {
        for (int i = 0; i < 4; i++) _s[i] = rng.NextDouble() * 0.2 - 0.1;
        Observe(observation);
    }

    /// <inheritdoc/>
    public (double Reward, bool Terminated) Step(int action, Span<double> observation)
    {
        double torque = action - 1;
        Span<double> k1 = stackalloc double[4], k2 = stackalloc double[4], k3 = stackalloc double[4], k4 = stackalloc double[4], y = stackalloc double[4];
        Derivatives(_s, torque, k1);
        for (int i = 0; i < 4; i++) y[i] = _s[i] + Dt / 2 * k1[i];
        Derivatives(y, torque, k2);
        for (int i = 0; i < 4; i++) y[i] = _s[i] + Dt / 2 * k2[i];
        Derivatives(y, torque, k3);
        for (int i = 0; i < 4; i++) y[i] = _s[i] + Dt * k3[i];
        Derivatives(y, torque, k4);
        for (int i = 0; i < 4; i++) _s[i] += Dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        _s[0] = Wrap(_s[0]);
        _s[1] = Wrap(_s[1]);
        _s[2] = Math.Clamp(_s[2], -MaxVel1, MaxVel1);
        _s[3] = Math.Clamp(_s[3], -MaxVel2, MaxVel2);
        Observe(observation);
        bool terminated = -Math.Cos(_s[0]) - Math.Cos(_s[1] + _s[0]) > 1.0;
        return (terminated ? 0.0 : -1.0, terminated);
    }

    private static void Derivatives(ReadOnlySpan<double> s, double a, Span<double> ds)
    {
        double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
        double d1 = M1 * Lc1 * Lc1 + M2 * (L1 * L1 + Lc2 * Lc2 + 2 * L1 * Lc2 * Math.Cos(theta2)) + I1 + I2;
        double d2 = M2 * (Lc2 * Lc2 + L1 * Lc2 * Math.Cos(theta2)) + I2;
        double phi2 = M2 * Lc2 * G * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -M2 * L1 * Lc2 * dtheta2 * dtheta2 * Math.Sin(theta2) - 2 * M2 * L1 * Lc2 * dtheta2 * dtheta1 * Math.Sin(theta2)
            + (M1 * Lc1 + M2 * L1) * G * Math.Cos(theta1 - Math.PI / 2) + phi2;
        double ddtheta2 = (a + d2 / d1 * phi1 - M2 * L1 * Lc2 * dtheta1 * dtheta1 * Math.Sin(theta2) - phi2) / (M2 * Lc2 * Lc2 + I2 - d2 * d2 / d1);
        double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        ds[0] = dtheta1;
        ds[1] = dtheta2;
        ds[2] = ddtheta1;
        ds[3] = ddtheta2;
    }

    private static double Wrap(double x)
    {
        const double diff = 2 * Math.PI;
        while (x > Math.PI) x -= diff;
        while (x < -Math.PI) x += diff;
        return x;
    }

    private void Observe(Span<double> o)
    {
        o[0] = Math.Cos(_s[0]);
        o[1] = Math.Sin(_s[0]);
        o[2] = Math.Cos(_s[1]);
        o[3] = Math.Sin(_s[1]);
        o[4] = _s[2];
        o[5] = _s[3];
    }

    /// <inheritdoc/>
    public double[] SaveState() => [.. _s];

    /// <inheritdoc/>
    public void LoadState(double[] state) => state.AsSpan(0, 4).CopyTo(_s);
}
