using Condense.Core;
using Condense.Vision.Radio;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

public sealed class GridMatchingTests
{
    [Theory]
    [InlineData(GridMatchMode.Larger, 5, 6)]
    [InlineData(GridMatchMode.Smaller, 4, 3)]
    [InlineData(GridMatchMode.Student, 4, 6)]
    [InlineData(GridMatchMode.Teacher, 5, 3)]
    public void Each_mode_picks_its_grid_per_axis(GridMatchMode mode, long H, long W)
    {
        using var scope = NewDisposeScope();
        var student = randn(2, 7, 4, 6);
        var teacher = randn(2, 7, 5, 3);
        var (s, t) = GridMatching.Match(student, teacher, mode);
        Assert.Equal(new long[] { 2, 7, H, W }, s.shape);
        Assert.Equal(new long[] { 2, 7, H, W }, t.shape);
    }

    [Fact]
    public void Larger_upsamples_only_the_smaller_map_and_leaves_the_other_untouched()
    {
        using var scope = NewDisposeScope();
        var student = randn(1, 3, 8, 8);
        var teacher = randn(1, 3, 2, 2);
        var (s, t) = GridMatching.Match(student, teacher);
        Assert.Same(student, s);
        Assert.True(Identical.Check(s, student));
        Assert.Equal(new long[] { 1, 3, 8, 8 }, t.shape);
    }

    [Fact]
    public void Identity_resize_leaves_values_unchanged()
    {
        using var scope = NewDisposeScope();
        var map = randn(2, 4, 3, 5);
        var (s, t) = GridMatching.Match(map, map.clone(), GridMatchMode.Smaller);
        Assert.True(Identical.Check(s, map));
        Assert.True(Identical.Check(t, map));
    }

    [Fact]
    public void Align_corners_keeps_the_corner_values_and_interpolates_linearly()
    {
        using var scope = NewDisposeScope();
        var map = tensor(new float[] { 0, 2, 4, 6 }).reshape(1, 1, 2, 2);    // (1, 1, 2, 2)
        var up = GridMatching.Resize(map, 3, 4);                              // (1, 1, 3, 4)
        var expected = tensor(new float[] { 0, 2f / 3, 4f / 3, 2, 2, 8f / 3, 10f / 3, 4, 4, 14f / 3, 16f / 3, 6 })
            .reshape(1, 1, 3, 4);
        Assert.True(allclose(up, expected, atol: 1e-5));
        var half = GridMatching.Resize(map, 3, 4, alignCorners: false);
        Assert.False(allclose(half, expected, atol: 1e-3));
    }

    [Fact]
    public void Mode_names_parse_and_unknown_ones_are_input_errors()
    {
        Assert.Equal(GridMatchMode.Larger, GridMatching.ParseMode("larger"));
        Assert.Equal(GridMatchMode.Smaller, GridMatching.ParseMode("Smaller"));
        Assert.Equal(GridMatchMode.Student, GridMatching.ParseMode("STUDENT"));
        Assert.Equal(GridMatchMode.Teacher, GridMatching.ParseMode(" teacher "));
        var ex = Assert.Throws<InputException>(() => GridMatching.ParseMode("biggest"));
        Assert.Contains("biggest", ex.Message, StringComparison.Ordinal);
    }
}
