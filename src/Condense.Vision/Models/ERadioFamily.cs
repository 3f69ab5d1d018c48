// Registry entries of E-RADIO (NVlabs/RADIO) at the released and paper sizes, and the tiny CPU size.
namespace Condense.Vision.Models;

internal sealed class ERadioFamily : IBackboneFamily
{
    public int Order => 3;

    public IEnumerable<RegisteredBackbone> Backbones()
    {
        yield return Entry("eradio", ERadioConfig.Large, "NVlabs/RADIO eradio (fastervit2_large_fullres_ws16)");
        yield return Entry("eradio_xxxtiny", ERadioConfig.XxxTiny, "NVlabs/RADIO eradio_xxxtiny");
        yield return Entry("eradio_xt", ERadioConfig.Xt, "AM-RADIO paper XT size (dim 64, depths 1-3-4-5) with eradio settings; no released weights");
        yield return Entry("eradio_micro", ERadioConfig.Micro, "not a reference model: tiny E-RADIO for CPU tests and distillation");
    }

    private static RegisteredBackbone Entry(string name, ERadioConfig config, string reference) =>
        new(new ModelInfo(name, "eradio", config.ParameterCount(), 224, config.NumClasses, 16, reference),
            o => new ERadio(config with { NumClasses = o.NumClasses ?? config.NumClasses }));
}
