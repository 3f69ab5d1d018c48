namespace Condense.Cli.Tests.Commands;

public sealed class ModelsCommandTests
{
    [Fact]
    public void Json_lists_every_backbone_with_its_parameter_count()
    {
        var r = CliProcess.Run("models", "--json");
        Assert.Equal(0, r.ExitCode);
        var models = r.Json().GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(31_404_840, models["fastervit_0"].GetProperty("parameters").GetInt64());
        Assert.Equal(22_050_664, models["vit_small"].GetProperty("parameters").GetInt64());
        foreach (var name in new[] { "fastervit_1", "fastervit_2", "fastervit_3", "fastervit_4", "fastervit_5", "fastervit_6", "eradio", "radio_vit" })
            Assert.True(models[name].GetProperty("parameters").GetInt64() > 0, name);
        Assert.Equal(16, models["eradio"].GetProperty("feature_stride").GetInt32());
    }

    [Fact]
    public void Bench_backbones_rejects_an_unknown_model_in_one_line()
    {
        var r = CliProcess.Run("bench", "backbones", "--models", "vit_small,nope");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown model 'nope'", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_gemv_and_sparse_gemv_reject_a_bad_shape_in_one_line()
    {
        var r = CliProcess.Run("bench", "gemv", "--shapes", "64x20");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--shapes '64x20': expected ROWSxCOLUMNS with columns a multiple of 16", r.Stderr, StringComparison.Ordinal);
        r = CliProcess.Run("bench", "sparse-gemv", "--shapes", "64x48");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("columns a multiple of 32", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_backbones_measures_tiny_models()
    {
        var r = CliProcess.Run("bench", "backbones", "--models", "fastervit_micro,eradio_micro", "--resolutions", "64", "--max-batch", "2",
            "--seconds", "0", "--json");
        Assert.Equal(0, r.ExitCode);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);   // 2 models x (infer b1, infer b2, train b2)
        Assert.All(rows, row => Assert.True(row.GetProperty("images_per_s").GetDouble() > 0));
    }
}
