// Which Linear layers 2:4 sparsity prunes: the q/k/v/o projections and the gate/up/down projections of every
// decoder layer, as in MaskLLM (its mask-only LLaMA runs sparsify all QKV, attention-output and MLP
// linears; embeddings and the classifier stay dense).
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>A pruned Linear: its module name (e.g. <c>model.layers.0.self_attn.q_proj</c>), decoder layer and module.</summary>
public sealed record PrunedLinear(string Name, int Layer, Linear Module)
{
    /// <summary>The state-dict key of its weight.</summary>
    public string WeightName => Name + ".weight";

    /// <summary>The weight, (out, in).</summary>
    public Tensor Weight => Module.weight!;
}

/// <summary>Finds the pruned linears of a LLaMA model by their Hugging Face names.</summary>
public static partial class PrunableLinears
{
    /// <summary>Matches the module names of pruned linears; group 1 is the decoder layer.</summary>
    [GeneratedRegex(@"^model\.layers\.(\d+)\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)$")]
    private static partial Regex ModuleName();

    /// <summary>True for the state-dict key of a pruned linear's weight.</summary>
    public static bool IsPrunedWeight(string key) =>
        key.EndsWith(".weight", StringComparison.Ordinal) && ModuleName().IsMatch(key[..^".weight".Length]);

    /// <summary>All pruned linears of <paramref name="model"/>, in module order (layer by layer).</summary>
    public static IReadOnlyList<PrunedLinear> Of(nn.Module model)
    {
        var found = new List<PrunedLinear>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not Linear linear) continue;
            var m = ModuleName().Match(name);
            if (!m.Success) continue;
            TwoFour.RequireShape(linear.weight!, name);
            found.Add(new PrunedLinear(name, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), linear));
        }
        if (found.Count == 0)
            throw new ArgumentException("the model has no decoder-layer linears named like Hugging Face LLaMA (model.layers.N.self_attn.q_proj, ...)");
        return found;
    }
}
