using TorchSharp;

namespace Condense.Vision.Tests.Models;

/// <summary>Checks every backbone's tests share: gradients reach every parameter.</summary>
internal static class BackboneAssert
{
    /// <summary>After a backward pass, every parameter has a non-zero gradient (none is dead or detached).</summary>
    public static void EveryParameterGetsGradient(torch.nn.Module model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"no gradient reaches {name}");
        }
    }
}
