using Condense.Experiments.Vision;

namespace Condense.Experiments.Tests.Vision;

/// <summary>bench highres and bench profile on small models: rows, the GemmConv2d ablation, the ONNX Runtime subjects, the profile's totals.</summary>
public sealed class HighResolutionAndProfileTests
{
    [Fact]
    public void Highres_alternates_every_subject_against_the_reference()
    {
        var result = HighResolutionBenchmark.Run(new HighResolutionOptions
        {
            Models = ["vit_tiny", "fastervit_micro"],
            Resolution = 128,
            Rounds = 2,
            OnnxRuntime = true,
        });
        Assert.Equal(new[] { ("vit_tiny", "-"), ("vit_tiny", "MLAS"), ("fastervit_micro", "matrix products"), ("fastervit_micro", "libtorch"), ("fastervit_micro", "MLAS") },
            result.Rows.Select(r => (r.Model, r.Convolutions)));
        Assert.Equal(1.0, result.Rows[0].Ratio);
        Assert.All(result.Rows, r =>
        {
            Assert.Equal(2, r.PerRound.Count);
            Assert.True(r.Milliseconds > 0 && r.ImagesPerSecond > 0);
            Assert.InRange(r.Ratio, r.RatioLow, r.RatioHigh);
        });
        Assert.False(Condense.Vision.Models.GemmConv2d.AlwaysLibTorch);   // the ablation switch is reset
        Assert.Contains("| fastervit_micro | TorchSharp | libtorch |", HighResolutionBenchmark.Markdown(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Profile_accounts_for_the_whole_forward_and_compares_each_convolution()
    {
        var result = BackboneProfile.Run(new BackboneProfileOptions { Models = ["fastervit_micro"], Resolution = 128, Forwards = 1, Rounds = 1 });
        var row = Assert.Single(result.Rows);
        Assert.Equal(1.0, row.Operations.Sum(o => o.Share), 6);                      // modules plus "between modules"
        Assert.Contains(row.Operations, o => o.Operation.StartsWith("GemmConv2d 3x3/1 g1 16->16", StringComparison.Ordinal));
        Assert.Contains(row.Convolutions, c => c.Input == "1x16x64x64");             // the stem's second convolution, on its 64 px input
        Assert.All(row.Convolutions, c => Assert.True(c.TorchMilliseconds > 0 && c.LibTorchMilliseconds > 0 && c.OrtMilliseconds > 0));
    }
}
