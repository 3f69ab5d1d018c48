using Condense.Core;
using Condense.Vision.Radio;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class TeacherLossBalancerTests
{
    private static Dictionary<string, Tensor> Losses(float a, float b) => new() { ["a"] = torch.tensor(a), ["b"] = torch.tensor(b) };

    [Fact]
    public void EqualIsThePlainSum()
    {
        using var scope = torch.NewDisposeScope();
        using var balancer = new TeacherLossBalancer("equal", ["a", "b"]);
        Assert.Equal(5f, balancer.Combine(Losses(2, 3)).item<float>(), 6);
    }

    [Fact]
    public void AdaLossDividesByTheRunningMeanOfEachLoss()
    {
        using var scope = torch.NewDisposeScope();
        using var balancer = new TeacherLossBalancer("adaloss", ["a", "b"], momentum: 0.5);
        balancer.train();
        var weights = new Dictionary<string, double>();
        Assert.Equal(2f, balancer.Combine(Losses(4, 100), weights).item<float>(), 5);   // each teacher weighs 1 at first
        Assert.Equal(0.25, weights["a"], 9);
        // EMA: a 0.5·4 + 0.5·2 = 3, b 0.5·100 + 0.5·50 = 75 → 2/3 + 50/75
        Assert.Equal(2f / 3 + 50f / 75, balancer.Combine(Losses(2, 50), weights).item<float>(), 5);
        Assert.Equal(1 / 75.0, weights["b"], 9);
    }

    [Fact]
    public void UncertaintyWeightingLearnsItsWeights()
    {
        using var scope = torch.NewDisposeScope();
        using var balancer = new TeacherLossBalancer("uncertainty", ["a", "b"]);
        var total = balancer.Combine(Losses(2, 3));
        Assert.Equal(5 + 2 * Math.Log(2), total.item<float>(), 5);                     // b = 0: e^0·L + softplus(0)
        total.backward();
        var grad = balancer.parameters().Single().grad!;                               // d/db = −L + sigmoid(b) = −L + 0.5
        Assert.Equal(new[] { -1.5f, -2.5f }, grad.data<float>().ToArray());
    }

    [Fact]
    public void UnknownModeIsAnInputError()
    {
        var ex = Assert.Throws<InputException>(() => new TeacherLossBalancer("gradnorm", ["a"]));
        Assert.Contains("gradnorm", ex.Message, StringComparison.Ordinal);
    }
}
