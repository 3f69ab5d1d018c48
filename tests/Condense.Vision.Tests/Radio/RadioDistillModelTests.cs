using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class RadioDistillModelTests
{
    private static readonly RadioStudentConfig Micro = new(PatchSize: 4, EmbedDim: 16, Depth: 2, NumHeads: 2,
        MaxResolution: 32, RegisterMultiple: 4);

    // A CLIP-like teacher (summary and a coarse 2 x 2 map), a SAM-like one (features only) and a summary-only one.
    private static readonly TeacherHeadSpec[] Teachers =
    [
        new("clip", SummaryDim: 12, FeatureDim: 10),
        new("sam", SummaryDim: null, FeatureDim: 6),
        new("label", SummaryDim: 20, FeatureDim: null),
    ];

    [Fact]
    public void Forward_gives_every_teacher_its_outputs_and_the_combined_summary()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        using var model = new RadioDistillModel(Micro, Teachers);
        Assert.Equal(2, model.Student.Config.NumClsTokens);
        Assert.Equal(2, model.Student.Config.ResolvedNumRegisters);
        Assert.Equal(0, model.SummaryTokenIndex("clip"));
        Assert.Null(model.SummaryTokenIndex("sam"));
        Assert.Equal(1, model.SummaryTokenIndex("label"));
        Assert.Null(model.Adaptor("sam").HeadMlp);
        Assert.Null(model.Adaptor("label").FeatMlp);
        Assert.Equal(20, model.Adaptor("clip").FeatMlp!.HiddenDim);

        model.eval();
        var output = model.call(rand(3, 3, 16, 24));
        Assert.Equal(new long[] { 3, 2 * 16 }, output.Summary.shape);
        Assert.True(Identical.Check(output.Summary.reshape(3, 2, 16), output.Student.Summary));
        Assert.Equal(new long[] { 3, 12 }, output.Teachers["clip"].Summary!.shape);
        Assert.Equal(new long[] { 3, 10, 4, 6 }, output.Teachers["clip"].Features!.shape);
        Assert.Null(output.Teachers["sam"].Summary);
        Assert.Equal(new long[] { 3, 6, 4, 6 }, output.Teachers["sam"].Features!.shape);
        Assert.Equal(new long[] { 3, 20 }, output.Teachers["label"].Summary!.shape);
        Assert.Null(output.Teachers["label"].Features);

        // Each summary head reads its own teacher's token.
        var expectedLabel = model.Adaptor("label").HeadMlp!.call(output.Student.Summary.select(1, 1));
        Assert.True(allclose(output.Teachers["label"].Summary!, expectedLabel));
    }

    [Fact]
    public void State_dict_follows_the_reference_radio_model()
    {
        using var scope = NewDisposeScope();
        using var model = new RadioDistillModel(Micro, Teachers, numInner: 1);
        var sd = model.state_dict();
        Assert.Equal(new long[] { 16, 48 }, sd["model.patch_generator.embedder.weight"].shape);
        Assert.Equal(new long[] { 4, 16 }, sd["model.patch_generator.cls_token.token"].shape);
        Assert.Contains("model.blocks.1.mlp.fc2.bias", sd.Keys);
        Assert.Contains("model.input_conditioner.norm_mean", sd.Keys);
        Assert.Equal(new long[] { 20, 16 }, sd["adaptors.clip.head_mlp.fc1.weight"].shape);
        Assert.Equal(new long[] { 10, 20 }, sd["adaptors.clip.feat_mlp.final.2.weight"].shape);
        Assert.Equal(new long[] { 20, 20 }, sd["adaptors.sam.feat_mlp.blocks.0.2.weight"].shape);
        Assert.Equal(new long[] { 20 }, sd["adaptors.label.head_mlp.final.2.bias"].shape);
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("adaptors.sam.head_mlp", StringComparison.Ordinal));
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("adaptors.label.feat_mlp", StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_teacher_lists_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new RadioDistillModel(Micro, []));
        Assert.Throws<ArgumentException>(() => new RadioDistillModel(Micro, [new("a", 4, null), new("a", null, 4)]));
        Assert.Throws<ArgumentException>(() => new RadioDistillModel(Micro, [new("a.b", 4, 4)]));
        Assert.Throws<ArgumentException>(() => new RadioDistillModel(Micro, [new("none", null, null)]));
    }

    private static Dictionary<string, TeacherOutput> RandomTargets(long B, long samH, long samW)
    {
        return new()
        {
            ["clip"] = new(randn(B, 12), randn(B, 10, 2, 3)),
            ["sam"] = new(null, randn(B, 6, samH, samW)),
            ["label"] = new(randn(B, 20), null),
        };
    }

    [Fact]
    public void Gradients_reach_every_student_and_adaptor_parameter()
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        using var model = new RadioDistillModel(Micro with { PosDropout = 0 }, Teachers, numInner: 1,
            preNorm: true);
        model.train();
        var images = rand(2, 3, 16, 24);
        var result = new DistillationLoss().Compute(model.call(images), RandomTargets(2, 8, 12));
        result.Total.backward();
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.patch_generator.pos_embed", names);
        Assert.Contains("model.patch_generator.cls_token.token", names);
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.True(parameter.grad is not null, $"{name} has no gradient");
            Assert.True(parameter.grad!.abs().sum().item<float>() > 0, $"{name} has a zero gradient");
        }
        // Every token row (summary tokens and registers) is reached, not just the parameter as a whole.
        var tokenGrad = model.Student.PatchGenerator.ClsToken.Token!.grad!;
        Assert.True((tokenGrad.abs().sum(1) > 0).all().item<bool>());
    }

    [Fact]
    public void Student_and_adaptors_overfit_fixed_targets()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var config = new RadioStudentConfig(PatchSize: 4, EmbedDim: 32, Depth: 2, NumHeads: 2, MaxResolution: 32,
            RegisterMultiple: 4);
        using var model = new RadioDistillModel(config, Teachers);
        model.train();
        var images = rand(8, 3, 16, 16);
        // Teacher maps no finer than the student's 4 x 4 grid, so the targets can be matched exactly.
        var targets = RandomTargets(8, 4, 4);
        var lossFn = new DistillationLoss();
        var optimizer = optim.Adam(model.parameters(), lr: 3e-3);
        float first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = lossFn.Compute(model.call(images), targets).Total;
            loss.backward();
            optimizer.step();
            float value = loss.item<float>();
            if (step == 0) first = value;
            last = value;
        }
        Assert.True(float.IsFinite(last));
        Assert.True(last < first / 10, $"loss went from {first} to {last}");
    }
}
