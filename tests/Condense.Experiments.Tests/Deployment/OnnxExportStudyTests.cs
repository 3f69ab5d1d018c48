using Condense.Experiments.Deployment;
using Condense.Testing;

namespace Condense.Experiments.Tests.Deployment;

/// <summary>The ONNX export study on two small backbones: rows, agreement, timing fields and the table.</summary>
public sealed class OnnxExportStudyTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-onnx-study-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Small_study_exports_checks_and_times_each_model_and_resolution()
    {
        var result = OnnxExportStudy.Run(new OnnxExportStudyOptions
        {
            Backbones = [("fastervit_micro", [64]), ("radio_vit", [32, 48])],
            OutputDir = _temp.Path,
            Rounds = 2,
        });
        Assert.Equal(new[] { ("fastervit_micro", 64), ("radio_vit", 32), ("radio_vit", 48) }, result.Rows.Select(r => (r.Model, r.Height)));
        Assert.All(result.Rows, r =>
        {
            Assert.InRange(r.MaxAbsDiff, 0, 1e-4);
            Assert.True(r.MaxAbsValue > 0.1, "outputs are not all zero");
            Assert.True(r.OrtImagesPerSecond > 0 && r.TorchImagesPerSecond > 0);
            Assert.InRange(r.Ratio, r.RatioLow, r.RatioHigh);
            Assert.Equal(new FileInfo(Path.Combine(_temp.Path, $"{r.Model}-{r.Height}x{r.Width}.onnx")).Length, r.Bytes);
        });
        Assert.False(result.Rows[0].DynamicResolution);
        Assert.True(result.Rows[1].DynamicResolution);
        var table = OnnxExportStudy.Markdown(result);
        Assert.Contains("| radio_vit | backbone | 48x48 (any size) |", table, StringComparison.Ordinal);
    }
}
