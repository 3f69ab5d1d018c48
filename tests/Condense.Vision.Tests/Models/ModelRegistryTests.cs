using Condense.Core;
using Condense.Vision.Models;
using Condense.Vision.Radio;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Models;

public sealed class ModelRegistryTests
{
    [Fact]
    public void Lists_every_family_with_parameter_counts()
    {
        var list = ModelRegistry.List();
        foreach (var name in new[] { "vit_tiny", "vit_small", "vit_base", "radio_vit", "fastervit_0", "fastervit_6", "eradio", "eradio_xt", "eradio_micro", "fastervit_micro" })
            Assert.Contains(list, m => m.Name == name);
        Assert.Equal(31_404_840, ModelRegistry.Info("fastervit_0").Parameters);
        Assert.Equal(22_050_664, ModelRegistry.Info("vit_small").Parameters);   // timm's count
        Assert.All(list, m => Assert.True(m.Parameters > 0));
    }

    [Theory]
    [InlineData("vit_tiny")]
    [InlineData("radio_vit")]
    [InlineData("fastervit_micro")]
    [InlineData("eradio_micro")]
    [InlineData("eradio_xxxtiny")]
    public void Built_models_have_the_listed_parameter_count(string name)
    {
        using var scope = NewDisposeScope();
        using var model = ModelRegistry.Create(name);
        Assert.Equal(ModelRegistry.Info(name).Parameters, model.Module.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Vit_sizes_and_summary_tokens_reach_the_families_that_have_them()
    {
        using var scope = NewDisposeScope();
        var size = new VitSize(PatchSize: 8, EmbedDim: 32, Depth: 2, NumHeads: 2, MlpRatio: 2, MaxResolution: 48, NumRegisters: 1);
        using var radio = ModelRegistry.Create("radio_vit", new BackboneOptions(Resolution: 32, Vit: size, SummaryTokens: 3));
        var student = Assert.IsType<RadioStudent>(radio);
        Assert.Equal(new[] { 8, 32, 2, 48, 3, 1 }, new[] { student.Config.PatchSize, student.Config.EmbedDim, student.Config.Depth,
            student.Config.MaxResolution, student.Config.NumClsTokens, student.Config.ResolvedNumRegisters });
        Assert.Equal(32, ((IDistillStudent)student).SummaryTokenDim);

        using var vit = ModelRegistry.Create("vit_tiny", new BackboneOptions(Resolution: 32, NumClasses: 0, Vit: size));
        Assert.Equal(32, vit.FeatureDim);
        Assert.Equal(8, vit.FeatureStride);

        // a hierarchical family keeps its registry sizes and is not a distillation student by itself
        using var faster = ModelRegistry.Create("fastervit_micro", new BackboneOptions(Resolution: 64, NumClasses: 0, Vit: size));
        Assert.Equal(128, faster.FeatureDim);
        Assert.IsNotAssignableFrom<IDistillStudent>(faster);
    }

    [Theory]
    [InlineData("vit_tiny", 64, 192, 4)]
    [InlineData("radio_vit", 64, 128, 16)]
    [InlineData("fastervit_micro", 64, 128, 2)]
    [InlineData("eradio_micro", 64, 128, 4)]
    public void Every_backbone_follows_the_contract(string name, int side, int featureDim, int grid)
    {
        using var scope = NewDisposeScope();
        using var model = ModelRegistry.Create(name, new BackboneOptions(Resolution: side, NumClasses: 0));
        model.Module.eval();
        using var noGrad = no_grad();
        var output = model.ForwardBackbone(rand(2, 3, side, side));
        Assert.Equal(new long[] { 2, model.SummaryDim }, output.Summary.shape);
        Assert.Equal(new long[] { 2, featureDim, grid, grid }, output.Features.shape);
        Assert.Equal(featureDim, model.FeatureDim);
        Assert.Equal(side / grid, model.FeatureStride);
        Assert.All(output.Intermediates, t => Assert.Equal(2, t.shape[0]));
    }

    [Fact]
    public void Families_register_themselves_in_a_stable_order_and_another_assembly_can_add_one()
    {
        var names = ModelRegistry.Names;
        Assert.Equal(["vit_tiny", "vit_small", "vit_base", "radio_vit", "fastervit_0"], names.Take(5));
        Assert.Equal("eradio_micro", names[^1]);
        ModelRegistry.Register(new TestFamily());
        Assert.Equal("test_vit_registered", ModelRegistry.Names[^1]);
        Assert.Equal(16, ModelRegistry.Info("test_vit_registered").FeatureStride);
        // a name that is taken is refused
        Assert.Throws<ArgumentException>(() => ModelRegistry.Register(new TestFamily()));
    }

    private sealed class TestFamily : IBackboneFamily
    {
        public int Order => 99;

        public IEnumerable<RegisteredBackbone> Backbones()
        {
            var config = VitConfig.Tiny;
            yield return new RegisteredBackbone(new ModelInfo("test_vit_registered", "vit", 1, 224, 0, 16, "test"),
                o => new VisionTransformer(config with { NumClasses = 0 }));
        }
    }

    [Fact]
    public void Unknown_names_are_input_errors_listing_the_names()
    {
        var e = Assert.Throws<InputException>(() => ModelRegistry.Create("fastervit_9"));
        Assert.Contains("fastervit_0", e.Message, StringComparison.Ordinal);
        Assert.Throws<InputException>(() => ModelRegistry.Create("vit_tiny", new BackboneOptions(Resolution: 100)));   // not a multiple of 16
    }

    [Fact]
    public void A_backbone_student_keeps_the_reference_names_under_backbone()
    {
        using var scope = NewDisposeScope();
        using var model = new RadioDistillModel(new BackboneStudent(ModelRegistry.Create("fastervit_micro")), 128, 128,
            [new TeacherHeadSpec("a", 10, 8), new TeacherHeadSpec("b", null, 5)]);
        var sd = model.state_dict();
        Assert.Contains("model.backbone.levels.2.blocks.0.hat_attn.qkv.weight", sd.Keys);
        Assert.Contains("model.input_conditioner.norm_mean", sd.Keys);
        Assert.Contains("adaptors.a.head_mlp.fc1.weight", sd.Keys);
        var output = model.call(rand(2, 3, 64, 64));
        Assert.Equal(new long[] { 2, 10 }, output.Teachers["a"].Summary!.shape);
        Assert.Equal(new long[] { 2, 5, 2, 2 }, output.Teachers["b"].Features!.shape);
        Assert.Equal(new long[] { 2, 128 }, output.Summary.shape);
    }
}
