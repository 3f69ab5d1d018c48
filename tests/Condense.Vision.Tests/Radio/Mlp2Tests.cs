using Condense.Vision.Radio;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Condense.Vision.Tests.Radio;

public sealed class Mlp2Tests
{
    [Fact]
    public void Maps_any_leading_shape_to_the_output_width()
    {
        using var scope = NewDisposeScope();
        using var head = new Mlp2(16, 40, 24, numInner: 2);
        Assert.Equal(new long[] { 3, 24 }, head.call(randn(3, 16)).shape);
        Assert.Equal(new long[] { 2, 7, 24 }, head.call(randn(2, 7, 16)).shape);
    }

    [Fact]
    public void Zero_inner_blocks_is_the_papers_two_layer_head()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        using var head = new Mlp2(8, 12, 5);
        var sd = head.state_dict();
        Assert.Equal(
            new[] { "fc1.bias", "fc1.weight", "final.0.bias", "final.0.weight", "final.2.bias", "final.2.weight" },
            sd.Keys.Order(StringComparer.Ordinal).ToArray());
        // Move LayerNorm off its identity init so the check sees its affine parameters.
        using (no_grad())
        {
            sd["final.0.weight"].normal_();
            sd["final.0.bias"].normal_();
        }
        var x = randn(4, 8);
        var hidden = F.linear(x, sd["fc1.weight"], sd["fc1.bias"]);                    // (4, 12)
        hidden = F.layer_norm(hidden, [12], sd["final.0.weight"], sd["final.0.bias"]);  // (4, 12)
        var expected = F.linear(F.gelu(hidden), sd["final.2.weight"], sd["final.2.bias"]);
        Assert.True(allclose(head.call(x), expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Inner_blocks_are_residual_with_reference_names()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var head = new Mlp2(6, 10, 3, numInner: 2, preNorm: true);
        var sd = head.state_dict();
        foreach (var key in new[] { "pre_norm.0.weight", "fc1.weight", "blocks.0.0.weight", "blocks.0.2.weight",
                     "blocks.1.0.bias", "blocks.1.2.bias", "final.0.weight", "final.2.weight" })
            Assert.Contains(key, sd.Keys);
        Assert.Equal(new long[] { 10, 10 }, sd["blocks.1.2.weight"].shape);
        Assert.Equal(2 + 2 + 2 * 4 + 4, sd.Count);

        var x = randn(5, 6);
        var h = F.gelu(F.layer_norm(x, [6], sd["pre_norm.0.weight"], sd["pre_norm.0.bias"]));
        h = F.linear(h, sd["fc1.weight"], sd["fc1.bias"]);
        for (int i = 0; i < 2; i++)
        {
            var inner = F.gelu(F.layer_norm(h, [10], sd[$"blocks.{i}.0.weight"], sd[$"blocks.{i}.0.bias"]));
            h = h + F.linear(inner, sd[$"blocks.{i}.2.weight"], sd[$"blocks.{i}.2.bias"]);
        }
        h = F.gelu(F.layer_norm(h, [10], sd["final.0.weight"], sd["final.0.bias"]));
        var expected = F.linear(h, sd["final.2.weight"], sd["final.2.bias"]);
        Assert.True(allclose(head.call(x), expected, rtol: 1e-5, atol: 1e-6));
    }
}
