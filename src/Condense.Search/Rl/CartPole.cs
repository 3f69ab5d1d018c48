// CartPole-v1 with the dynamics of Gym's reference (classic_control/cartpole.py: Barto, Sutton & Anderson 1983, Euler
// integration, tau 0.02): reward 1 per step, terminated when |x| > 2.4 or |θ| > 12°, truncated at 500 steps; the
// start state is uniform in ±0.05.
using Condense.Core.Data;

namespace Condense.Search.Rl;

/// <summary>Gym's CartPole-v1.</summary>
public sealed class CartPole : IEnvironment
{
    private const double Gravity = 9.8, MassCart = 1.0, MassPole = 0.1, TotalMass = MassCart + MassPole, Length = 0.5;
    private const double PoleMassLength = MassPole * Length, ForceMag = 10.0, Tau = 0.02;
    private const double ThetaThreshold = 12 * 2 * Math.PI / 360, XThreshold = 2.4;
    private double _x, _xDot, _theta, _thetaDot;

    /// <inheritdoc/>
    public int ObservationSize => 4;

    /// <inheritdoc/>
    public int Actions => 2;

    /// <inheritdoc/>
    public int MaxSteps => 500;

    /// <inheritdoc/>
    public void Reset(ref SplitMix64 rng, Span<double> observation)
    {
        _x = rng.NextDouble() * 0.1 - 0.05;
        _xDot = rng.NextDouble() * 0.1 - 0.05;
        _theta = rng.NextDouble() * 0.1 - 0.05;
        _thetaDot = rng.NextDouble() * 0.1 - 0.05;
        Observe(observation);
    }

    /// <inheritdoc/>
    public (double Reward, bool Terminated) Step(int action, Span<double> observation)
    {
        double force = action == 1 ? ForceMag : -ForceMag;
        double cos = Math.Cos(_theta), sin = Math.Sin(_theta);
        double temp = (force + PoleMassLength * _thetaDot * _thetaDot * sin) / TotalMass;
        double thetaAcc = (Gravity * sin - cos * temp) / (Length * (4.0 / 3.0 - MassPole * cos * cos / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cos / TotalMass;
        _x += Tau * _xDot;
        _xDot += Tau * xAcc;
        _theta += Tau * _thetaDot;
        _thetaDot += Tau * thetaAcc;
        Observe(observation);
        bool terminated = _x < -XThreshold || _x > XThreshold || _theta < -ThetaThreshold || _theta > ThetaThreshold;
        return (1.0, terminated);
    }

    private void Observe(Span<double> o)
    {
        o[0] = _x;
        o[1] = _xDot;
        o[2] = _theta;
        o[3] = _thetaDot;
    }

    /// <inheritdoc/>
    public double[] SaveState() => [_x, _xDot, _theta, _thetaDot];

    /// <inheritdoc/>
    public void LoadState(double[] state) => (_x, _xDot, _theta, _thetaDot) = (state[0], state[1], state[2], state[3]);
}
