// Channel LayerNorm on NCHW feature maps, as timm's LayerNorm2d (timm/layers/norm.py): permute to NHWC, LayerNorm
// over C, permute back. Parameter names `weight` and `bias` as timm (a subclass of nn.LayerNorm); eps 1e-6.
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>LayerNorm over the channels of (B, C, H, W).</summary>
internal sealed class LayerNorm2d : Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter bias;
    private readonly long channels;
    private readonly double eps;

    public LayerNorm2d(long channels, double eps = 1e-6) : base(nameof(LayerNorm2d))
    {
        this.channels = channels;
        this.eps = eps;
        weight = Parameter(ones(channels));
        bias = Parameter(zeros(channels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = x.permute(0, 2, 3, 1);                                          // (B, H, W, C)
        y = functional.layer_norm(y, [channels], weight, bias, eps);
        return y.permute(0, 3, 1, 2).MoveToOuterDisposeScope();                 // (B, C, H, W)
    }
}
