using Condense.Core.Data;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Inference;

namespace Condense.Experts.Tests;

public class SliceAndQuestionTests
{
    private static readonly SlicePlane[] Planes = [SlicePlane.Axial, SlicePlane.Coronal];

    [Theory]
    [InlineData(SlicePlane.Axial, 0, 0, 0, 1)]
    [InlineData(SlicePlane.Coronal, 7.5, 2, -3, 1.06)]
    [InlineData(SlicePlane.Sagittal, -8, -1.5, 2.5, 0.93)]
    public void Pixel_and_voxel_coordinates_invert_each_other(SlicePlane plane, double rotation, double sx, double sy, double zoom)
    {
        var view = new SliceView(plane, 80, rotation, sx, sy, zoom);
        var size = (181, 217, 181);
        foreach (var (u, v) in new[] { (0.0, 0.0), (31.0, 12.0), (63.0, 63.0) })
        {
            var (a, b) = view.FromPixel(u, v, 64, size);
            var (u2, v2) = view.ToPixel(a, b, 64, size);
            Assert.Equal(u, u2, 9);
            Assert.Equal(v, v2, 9);
        }
    }

    [Fact]
    public void The_marked_point_is_drawn_red_where_the_voxel_appears()
    {
        var atlas = ColinAtlas.Value;
        var view = new SliceView(SlicePlane.Axial, 90, 6, 2, -1, 1.05);
        var marker = new Marker(MarkerKind.Point, 60, 120, 90);
        var image = SliceRenderer.Render(atlas, view, 64, marker: marker);
        var (u, v) = view.ToPixel(60, 120, 64, atlas.Size);
        int p = (int)Math.Round(v) * 64 + (int)Math.Round(u);
        Assert.Equal((1f, 0f, 0f), (image[p], image[4096 + p], image[2 * 4096 + p]));
        // Without a marker the anatomy is grey: the three channels agree everywhere.
        var plain = SliceRenderer.Render(atlas, view, 64);
        Assert.All(Enumerable.Range(0, 4096), q => Assert.Equal(plain[q], plain[4096 + q]));
        Assert.True(plain.Max() > 0.5f);
    }

    [Fact]
    public void Training_and_test_slices_are_disjoint_bands_and_training_never_asks_about_held_out_regions()
    {
        var atlas = ColinAtlas.Value;
        var split = new BrainSplit(atlas, Planes);
        foreach (var plane in Planes)
        {
            var train = split.Slices(plane, false);
            var test = split.Slices(plane, true);
            Assert.Empty(train.Intersect(test));
            Assert.True(test.Count > 0.15 * (train.Count + test.Count));
            Assert.All(test, s => Assert.Equal(2, s / 5 % 5));
        }
        Assert.Equal(11, split.HeldOut.Count);
        var names = split.HeldOut.Select(l => atlas.Region(l)!.Name).ToHashSet();
        var questions = new BrainQuestions(atlas, split, evaluation: false, new AugmentOptions());
        var rng = new SplitMix64(3);
        for (int n = 0; n < 600; n++)
        {
            var s = questions.Sample(BrainQuestions.Families[n % BrainQuestions.Families.Count], ref rng);
            Assert.False(s.HeldOutRegion);
            Assert.DoesNotContain(s.Answer, names);
            Assert.DoesNotContain(names, name => s.Question.Contains(name + " ", StringComparison.Ordinal) || s.Question.Contains(name + ",", StringComparison.Ordinal) || s.Question.Contains(name + "?", StringComparison.Ordinal));
            Assert.False(BrainSplit.IsTestSlice(s.View.Index));
        }
        var test2 = new BrainQuestions(atlas, split, evaluation: true, new AugmentOptions());
        var rng2 = new SplitMix64(4);
        int held = 0;
        for (int n = 0; n < 300; n++)
        {
            var s = test2.Sample(QuestionFamily.RegionAtPoint, ref rng2);
            Assert.True(BrainSplit.IsTestSlice(s.View.Index));
            if (s.HeldOutRegion) held++;
        }
        Assert.True(held > 0, "the evaluation set asks about held-out regions too");
    }

    [Fact]
    public void The_expert_rule_answers_every_generated_question_correctly()
    {
        // The question generator and the atlas expert read the same labels: the expert alone is exact on both splits
        // (the learned segmenter is not exact; its questions are skipped here).
        var atlas = ColinAtlas.Value;
        var split = new BrainSplit(atlas, Planes);
        var experts = new ExpertSet([new AtlasExpert()]);
        foreach (bool evaluation in new[] { false, true })
        {
            var questions = new BrainQuestions(atlas, split, evaluation, new AugmentOptions());
            var rng = new SplitMix64(evaluation ? 11UL : 12UL);
            foreach (var family in BrainQuestions.Families)
                for (int n = 0; n < 25; n++)
                {
                    var s = questions.Sample(family, ref rng);
                    if (s.Trigger?.Name == "SEGMENT") continue;
                    if (s.Trigger is null)
                    {
                        Assert.Contains(family, new[] { QuestionFamily.Hemisphere, QuestionFamily.Plane });
                        continue;
                    }
                    var result = experts.Find(s.Trigger.Name)!.Run(s.Trigger.Arguments, new ExpertContext(atlas, s.View, s.Marker, null, 64));
                    Assert.True(ExpertRule.Matches(ExpertRule.Answer(family, result.Text), s.Answer), $"{family}: '{result.Text}' vs {s.Answer}");
                }
        }
    }

    [Fact]
    public void The_atlas_expert_reports_bad_arguments_as_expert_errors()
    {
        var atlas = ColinAtlas.Value;
        var expert = new AtlasExpert();
        var context = new ExpertContext(atlas, new SliceView(SlicePlane.Axial, 90), null, null, 64);
        Assert.Contains("Nowhere_L", Assert.Throws<ExpertException>(() => expert.Run("Nowhere_L", context)).Message);
        Assert.Contains("marked point", Assert.Throws<ExpertException>(() => expert.Run("point", context)).Message);
        Assert.Throws<ExpertException>(() => expert.Run("", context));
        var sizes = expert.Run("Precentral_L, Vermis_10", context).Text;
        Assert.Matches(@"^Voxels in this slice: Precentral_L \d+, Vermis_10 none\.$", sizes);
        int i = Enumerable.Range(40, 60).First(x => atlas.LabelAt(x, 120, 90) > 0);
        var point = expert.Run("point", context with { Marker = new Marker(MarkerKind.Point, i, 120, 90) });
        Assert.NotNull(point.Overlay);
        Assert.Equal($"The marked point lies in {atlas.Region(atlas.LabelAt(i, 120, 90))!.Name}.", point.Text);
        var outside = expert.Run("point", context with { Marker = new Marker(MarkerKind.Point, 2, 2, 90) });
        Assert.Equal("The marked point lies outside the labelled brain.", outside.Text);
    }
}
