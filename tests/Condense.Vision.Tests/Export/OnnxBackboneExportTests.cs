using Condense.Vision.Export;
using Condense.Vision.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Export;

public sealed class OnnxBackboneExportTests(ITestOutputHelper output)
{
    // Registry entries up to this size are exported and run in ONNX Runtime; the larger ones (vit_base, fastervit_1..6,
    // the big E-RADIOs) share their family's writer with a smaller entry that is checked.
    private const long MaxCheckedParameters = 35_000_000;

    public static TheoryData<string> CheckedEntries()
    {
        var data = new TheoryData<string>();
        foreach (var m in ModelRegistry.List().Where(m => m.Parameters <= MaxCheckedParameters)) data.Add(m.Name);
        return data;
    }

    [Fact]
    public void Every_family_in_the_registry_has_a_checked_entry()
    {
        var checkedFamilies = ModelRegistry.List().Where(m => m.Parameters <= MaxCheckedParameters).Select(m => m.Family).ToHashSet();
        Assert.All(ModelRegistry.List(), m => Assert.Contains(m.Family, checkedFamilies));
    }

    [Theory]
    [MemberData(nameof(CheckedEntries))]
    public void Export_agrees_with_the_model_in_onnx_runtime_at_two_resolutions_and_two_batch_sizes(string name)
    {
        var info = ModelRegistry.Info(name);
        // two sides the family takes: a multiple of 32 (FasterViT's and E-RADIO's downsampling) and of the patch size
        int[] sides = info.Family switch { "vit" => [32, 48], "radio_vit" => [32, 48], _ => [64, 96] };
        var results = new List<OnnxAgreementRow>();
        foreach (int side in sides)
        {
            using var scope = NewDisposeScope();
            manual_seed(1);
            using var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: side, NumClasses: side == sides[0] ? 0 : null));
            RandomizeNormStatistics(backbone.Module);
            backbone.Module.eval();
            var onnx = Google.Protobuf.MessageExtensions.ToByteArray(OnnxBackboneExport.Export(backbone, side, side, name));
            bool dynamic = OnnxBackboneExport.WriterFor(backbone).DynamicResolution(backbone);
            // a graph with a free size is checked at both sides and a rectangle; a fixed one at the size it was built for
            // (a free size is checked above the CPE table's 128 px too, where the table is upsampled)
            var shapes = dynamic ? new[] { (1, side, side), (2, side, 4 * side) } : new[] { (1, side, side), (3, side, side) };
            results.AddRange(OnnxAgreement.Check(onnx, images => OnnxBackboneExport.Reference(backbone, images), shapes));
        }
        foreach (var r in results) output.WriteLine($"{name} {r.Batch}x{r.Height}x{r.Width} {r.Output}: max |diff| {r.MaxAbsDiff:E2} (max |value| {r.MaxAbsValue:F2})");
        Assert.Equal(8, results.Count);
        Assert.All(results, r => Assert.True(r.MaxAbsDiff <= 1e-4, $"{name} {r.Batch}x{r.Height}x{r.Width} {r.Output}: {r.MaxAbsDiff:E2}"));
    }

    // Rectangular inputs (FasterViT's carrier grid is then rectangular) and FasterViT-0 at its 224 px, where stage 2
    // carries 2 x 2 tokens per 7 x 7 window (the small sides above have one window and no carriers).
    [Theory]
    [InlineData("fastervit_micro", 64, 96)]
    [InlineData("eradio_micro", 96, 64)]
    [InlineData("fastervit_0", 224, 224)]
    public void Export_agrees_at_the_model_s_own_size_and_rectangles(string name, int height, int width)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var backbone = ModelRegistry.Create(name, new BackboneOptions(Resolution: height, NumClasses: 0));
        RandomizeNormStatistics(backbone.Module);
        backbone.Module.eval();
        var onnx = Google.Protobuf.MessageExtensions.ToByteArray(OnnxBackboneExport.Export(backbone, height, width, name));
        var rows = OnnxAgreement.Check(onnx, images => OnnxBackboneExport.Reference(backbone, images), [(1, height, width), (2, height, width)]);
        foreach (var r in rows) output.WriteLine($"{name} {r.Batch}x{r.Height}x{r.Width} {r.Output}: max |diff| {r.MaxAbsDiff:E2}");
        Assert.All(rows, r => Assert.True(r.MaxAbsDiff <= 1e-4, $"{name} {r.Batch}x{r.Height}x{r.Width} {r.Output}: {r.MaxAbsDiff:E2}"));
    }

    [Fact]
    public void A_model_saved_with_external_data_runs_from_its_path_and_a_later_small_save_removes_the_side_file()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var backbone = ModelRegistry.Create("fastervit_micro", new BackboneOptions(Resolution: 64, NumClasses: 0));
        backbone.Module.eval();
        var folder = Directory.CreateTempSubdirectory("condense-onnx-external-").FullName;
        try
        {
            var path = Path.Combine(folder, "model.onnx");
            long written = OnnxFile.Save(OnnxBackboneExport.Export(backbone, 64, 64, "fastervit_micro"), path, externalThreshold: 0);
            Assert.True(File.Exists(path + ".data"));
            Assert.Equal(written, new FileInfo(path).Length + new FileInfo(path + ".data").Length);
            Assert.True(new FileInfo(path).Length < new FileInfo(path + ".data").Length / 4, "the weights are in the side file");
            var rows = OnnxAgreement.Check(path, images => OnnxBackboneExport.Reference(backbone, images), [(2, 64, 64)]);
            Assert.All(rows, r => Assert.True(r.MaxAbsDiff <= 1e-4, $"{r.Output}: {r.MaxAbsDiff:E2}"));

            OnnxFile.Save(OnnxBackboneExport.Export(backbone, 64, 64, "fastervit_micro"), path);
            Assert.False(File.Exists(path + ".data"));
            Assert.Empty(Directory.GetFiles(folder, ".*.tmp"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Fresh BatchNorm layers hold mean 0 and variance 1, which would hide a graph that ignored its statistics.
    private static void RandomizeNormStatistics(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var (name, buffer) in module.named_buffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(randn_like(buffer) * 0.1);
            if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) + 0.5);
        }
    }
}
