// Registry entry of the AM-RADIO student ViT (CPE, summary tokens, registers) at Condense's default distillation size.
using Condense.Vision.Models;

namespace Condense.Vision.Radio;

internal sealed class RadioStudentFamily : IBackboneFamily
{
    public int Order => 1;

    public IEnumerable<RegisteredBackbone> Backbones()
    {
        var radio = new RadioStudentConfig();
        yield return new RegisteredBackbone(new ModelInfo("radio_vit", "radio_vit", Parameters(radio), radio.MaxResolution, 0, radio.PatchSize,
                "AM-RADIO student ViT (CPE, summary token, registers) at condense's default distillation size"),
            o => new RadioStudent(o.Vit is { } v
                ? radio with
                {
                    PatchSize = v.PatchSize, EmbedDim = v.EmbedDim, Depth = v.Depth, NumHeads = v.NumHeads, MlpRatio = v.MlpRatio,
                    MaxResolution = v.MaxResolution, NumRegisters = v.NumRegisters, NumClsTokens = o.SummaryTokens ?? radio.NumClsTokens,
                }
                : radio with
                {
                    MaxResolution = Math.Max(radio.MaxResolution, o.Resolution ?? 0), NumClsTokens = o.SummaryTokens ?? radio.NumClsTokens,
                }));
    }

    private static long Parameters(RadioStudentConfig c)
    {
        long d = c.EmbedDim, h = c.MlpHiddenDim;
        long block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
        return 3L * c.PatchSize * c.PatchSize * d + (long)c.MaxGrid * c.MaxGrid * d + c.NumPrefixTokens * d + c.Depth * block;
    }
}
