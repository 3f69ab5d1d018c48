using Condense.Language.Sparsity;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

public sealed class GumbelSoftmaxTests
{
    [Fact]
    public void Samples_are_one_hot_at_low_temperature_and_spread_at_high_temperature()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var logits = randn(2000, 6);
        var cold = GumbelSoftmax.Sample(logits, 0.01);
        Assert.True(cold.sum(-1).allclose(ones(2000), 1e-5, 1e-5));
        Assert.True(cold.max(-1).values.mean().item<float>() > 0.99f);
        var hot = GumbelSoftmax.Sample(logits, 4);
        Assert.True(hot.max(-1).values.mean().item<float>() < 0.6f);
        // The argmax of a sample follows softmax(logits): frequency of the argmax candidate of each row.
        var counts = zeros(6);
        var row = tensor(new float[] { 2f, 0f, 0f, 0f, 0f, 0f }).unsqueeze(0).expand(20000, 6);
        var picks = GumbelSoftmax.Sample(row, 0.05).argmax(-1);
        double p0 = (picks == 0).to_type(ScalarType.Float32).mean().item<float>();
        double expected = Math.Exp(2) / (Math.Exp(2) + 5);
        Assert.InRange(p0, expected - 0.02, expected + 0.02);
    }

    [Fact]
    public void Samples_are_differentiable_in_the_logits()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var logits = randn(8, 6).requires_grad_(true);
        var y = GumbelSoftmax.Sample(logits, 1.0);
        (y * arange(6, dtype: ScalarType.Float32)).sum().backward();
        Assert.NotNull(logits.grad);
        Assert.True(logits.grad!.abs().sum().item<float>() > 0);
        Assert.True(logits.grad!.isfinite().all().item<bool>());
    }
}
