using Condense.Search.Rl;
using Condense.Search.Running;
using Condense.Search.Spaces;
using Condense.Testing;

namespace Condense.Search.Tests.Rl;

public sealed class A2CTests
{
    [Fact]
    public void CartPole_follows_gyms_dynamics()
    {
        // One step from a known state, against the reference equations evaluated by hand:
        // state (0, 0, 0.05, 0), push right: θ̈ = (9.8 sin θ − cos θ·temp) / (0.5 (4/3 − 0.1 cos²θ / 1.1)), temp = 10 / 1.1.
        var env = new CartPole();
        env.LoadState([0, 0, 0.05, 0]);
        var obs = new double[4];
        var (reward, terminated) = env.Step(1, obs);
        double temp = 10 / 1.1, cos = Math.Cos(0.05), sin = Math.Sin(0.05);
        double thetaAcc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos * cos / 1.1));
        double xAcc = temp - 0.05 * thetaAcc * cos / 1.1;
        Assert.Equal(0.02 * xAcc, obs[1], 12);
        Assert.Equal(0.05, obs[2], 12);        // Euler: θ moves with the old θ̇ (0)
        Assert.Equal(0.02 * thetaAcc, obs[3], 12);
        Assert.Equal((1.0, false), (reward, terminated));
    }

    [Fact]
    public void Acrobot_hanging_still_stays_still_and_reaching_up_ends_the_episode()
    {
        var env = new Acrobot();
        env.LoadState([0, 0, 0, 0]);
        var obs = new double[6];
        var (reward, terminated) = env.Step(1, obs); // no torque at rest: an equilibrium
        Assert.Equal([1, 0, 1, 0, 0, 0], obs.Select(x => Math.Round(x, 9)));
        Assert.Equal((-1.0, false), (reward, terminated));
        env.LoadState([Math.PI, 0, 0, 0]);           // both links straight up
        Assert.True(env.Step(1, obs).Terminated);
    }

    [Fact]
    public void A2C_learns_cartpole()
    {
        var agent = new A2CAgent("cartpole", new A2COptions(LearningRate: 7e-3, NSteps: 5, Entropy: 0.0), seed: 3);
        agent.TrainUntil(8000);
        double early = agent.TrailingReturn;
        agent.TrainUntil(120_000);
        Assert.True(agent.TrailingReturn > Math.Max(150, 3 * early), $"early {early}, late {agent.TrailingReturn}");
    }

    [Fact]
    public void A_saved_agent_resumes_exactly()
    {
        var options = new A2COptions(LearningRate: 1e-3, NSteps: 4);
        var straight = new A2CAgent("acrobot", options, seed: 9);
        straight.TrainUntil(6000);
        var split = new A2CAgent("acrobot", options, seed: 9);
        split.TrainUntil(3000);
        var resumed = A2CAgent.Load(split.Save(), options);
        resumed.TrainUntil(6000);
        Assert.Equal(straight.Save(), resumed.Save());
        Assert.Throws<InvalidDataException>(() => A2CAgent.Load([1, 2, 3], options));
    }

    [Fact]
    public void The_objective_resumes_a_trial_from_its_checkpoint_on_another_objective_instance()
    {
        using var temp = new TempFolder("condense-a2c-");
        var config = SearchSpace.Parse(A2CObjective.DefaultSpace).Sample(1, 0);
        var trial = new TrialContext(0, config, 42, 3, Path.Combine(temp.Path, "trial-00000"));
        var a = new A2CObjective("cartpole", 2000);
        var p1 = a.RunPhase(trial, 1, default);
        var p2 = a.RunPhase(trial, 2, default);
        var b = new A2CObjective("cartpole", 2000);  // another worker: nothing in memory
        var other = new A2CObjective("cartpole", 2000);
        other.RunPhase(trial with { CheckpointDir = Path.Combine(temp.Path, "copy") }, 1, default);
        var p2Again = b.RunPhase(trial, 2, default); // reruns phase 2 from phase 1's checkpoint
        Assert.Equal(p2.Score, p2Again.Score);
        Assert.InRange(p1.Cost, 2000, 2000 + 20 * 8); // whole updates of n·E steps
        Assert.Throws<InvalidDataException>(() => new A2CObjective("cartpole", 2000).RunPhase(trial with { CheckpointDir = Path.Combine(temp.Path, "none") }, 3, default));
    }
}
