using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class DistillationLossTests
{
    [Fact]
    public void Cosine_loss_is_0_for_identical_1_for_orthogonal_and_2_for_opposite()
    {
        using var scope = NewDisposeScope();
        var a = randn(4, 9);
        Assert.Equal(0, DistillationLoss.SummaryLoss(a, a.clone()).item<float>(), 1e-6);
        Assert.Equal(0, DistillationLoss.SummaryLoss(a, 3 * a).item<float>(), 1e-6);
        var x = tensor(new float[] { 1, 0, 0, 0, 2, 0 }).reshape(2, 3);
        var y = tensor(new float[] { 0, 5, 0, 0, 0, -1 }).reshape(2, 3);
        Assert.Equal(1, DistillationLoss.SummaryLoss(x, y).item<float>(), 1e-6);
        Assert.Equal(2, DistillationLoss.SummaryLoss(a, -a).item<float>(), 1e-6);
        // Per sample, then the batch mean: one identical pair and one orthogonal pair give 0.5.
        var mixed = tensor(new float[] { 1, 0, 0, 0, 1, 0 }).reshape(2, 3);
        var target = tensor(new float[] { 2, 0, 0, 1, 0, 0 }).reshape(2, 3);
        Assert.Equal(0.5, DistillationLoss.SummaryLoss(mixed, target).item<float>(), 1e-6);
    }

    // One image, 2 channels, a 1 x 2 grid: position 0 is orthogonal (cos 0), position 1 parallel (cos 1).
    // Differences: 1, -0.5 at position 0 and -2, -2 at position 1.
    private static (Tensor Pred, Tensor Target) TinyMaps()
    {
        var pred = tensor(new float[] { 1, 1, 0, 1 }).reshape(1, 2, 1, 2);     // channel-major (B, C, h, w)
        var target = tensor(new float[] { 0, 3, 0.5f, 3 }).reshape(1, 2, 1, 2);
        return (pred, target);
    }

    [Fact]
    public void Feature_loss_matches_a_hand_computation()
    {
        using var scope = NewDisposeScope();
        var (pred, target) = TinyMaps();
        // cos term: mean(1 - 0, 1 - 1) = 0.5.
        // SmoothL1, beta 1: |1| -> 1 - 0.5 = 0.5; |0.5| -> 0.5 * 0.25 = 0.125; |2| -> 1.5 twice; mean 0.90625.
        var loss = new DistillationLoss().FeatureLoss(pred, target);
        Assert.Equal(0.9 * 0.5 + 0.1 * 0.90625, loss.item<float>(), 1e-6);
        // beta 2: 0.5 * 1 / 2 = 0.25; 0.5 * 0.25 / 2 = 0.0625; 2 - 1 = 1 twice; mean 0.578125.
        var beta2 = new DistillationLoss(smoothL1Beta: 2).FeatureLoss(pred, target);
        Assert.Equal(0.9 * 0.5 + 0.1 * 0.578125, beta2.item<float>(), 1e-6);
        Assert.Equal(0, new DistillationLoss().FeatureLoss(pred, pred.clone()).item<float>(), 1e-6);
    }

    [Fact]
    public void Feature_loss_compares_maps_on_the_matched_grid()
    {
        using var scope = NewDisposeScope();
        // A constant teacher map on a 2 x 2 grid upsampled to the student's 4 x 4 grid is the same constant.
        var teacher = ones(2, 3, 2, 2);
        var student = ones(2, 3, 4, 4);
        Assert.Equal(0, new DistillationLoss().FeatureLoss(student, teacher).item<float>(), 1e-6);
        var modes = new[] { GridMatchMode.Larger, GridMatchMode.Smaller, GridMatchMode.Student, GridMatchMode.Teacher };
        var s = randn(2, 3, 4, 6);
        var t = randn(2, 3, 3, 3);
        foreach (var mode in modes)
        {
            var loss = new DistillationLoss(gridMode: mode);
            var (ms, mt) = GridMatching.Match(s, t, mode);
            var expected = 0.9 * DistillationLoss.CosineLoss(ms, mt, dim: 1)
                + 0.1 * nn.functional.smooth_l1_loss(ms, mt);
            Assert.Equal(expected.item<float>(), loss.FeatureLoss(s, t).item<float>(), 1e-5);
        }
    }

    [Fact]
    public void Total_is_the_weighted_sum_with_a_per_teacher_breakdown()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var (pred, target) = TinyMaps();
        var sa = randn(1, 5);
        var ta = randn(1, 5);
        var output = new DistillOutput(zeros(1, 4), new StudentOutput(zeros(1, 1, 4), zeros(1, 2, 4), 1, 2),
            new Dictionary<string, TeacherOutput>
            {
                ["clip"] = new(sa, pred),
                ["sam"] = new(null, pred * 2),
                ["muted"] = new(sa, null),
            });
        var targets = new Dictionary<string, TeacherOutput>
        {
            ["clip"] = new(ta, target),
            ["sam"] = new(null, target),
            ["muted"] = new(ta, null),
        };
        var loss = new DistillationLoss(new Dictionary<string, TeacherLossWeights>
        {
            ["clip"] = new(Summary: 2, Feature: 0.5),
            ["muted"] = new(Summary: 0),
        });
        var result = loss.Compute(output, targets);

        float clipSummary = DistillationLoss.SummaryLoss(sa, ta).item<float>();
        float clipFeatures = loss.FeatureLoss(pred, target).item<float>();
        float samFeatures = loss.FeatureLoss(pred * 2, target).item<float>();
        Assert.Equal(clipSummary, result.Summary["clip"].item<float>(), 1e-6);
        Assert.Equal(clipFeatures, result.Features["clip"].item<float>(), 1e-6);
        Assert.Equal(2 * clipSummary + 0.5 * clipFeatures, result.PerTeacher["clip"].item<float>(), 1e-5);
        Assert.Equal(samFeatures, result.PerTeacher["sam"].item<float>(), 1e-6);
        Assert.False(result.Summary.ContainsKey("sam"));
        Assert.False(result.Summary.ContainsKey("muted"));
        Assert.Equal(0, result.PerTeacher["muted"].item<float>());
        Assert.Equal(2 * clipSummary + 0.5 * clipFeatures + samFeatures, result.Total.item<float>(), 1e-5);
    }

    [Fact]
    public void A_missing_teacher_output_is_an_error()
    {
        using var scope = NewDisposeScope();
        var output = new DistillOutput(zeros(1, 4), new StudentOutput(zeros(1, 1, 4), zeros(1, 1, 4), 1, 1),
            new Dictionary<string, TeacherOutput> { ["clip"] = new(randn(1, 3), null) });
        var loss = new DistillationLoss();
        Assert.Throws<ArgumentException>(() => loss.Compute(output, new Dictionary<string, TeacherOutput>()));
        Assert.Throws<ArgumentException>(() => loss.Compute(output,
            new Dictionary<string, TeacherOutput> { ["clip"] = new(null, randn(1, 3, 1, 1)) }));
        Assert.Throws<ArgumentException>(() => loss.Compute(output,
            new Dictionary<string, TeacherOutput> { ["clip"] = new(randn(1, 4), null) }));
    }
}
