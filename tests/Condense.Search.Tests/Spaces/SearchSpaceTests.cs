using Condense.Core;
using Condense.Search.Spaces;

namespace Condense.Search.Tests.Spaces;

public sealed class SearchSpaceTests
{
    private const string Spec = "lr=log(1e-4,1e-1);gamma=uniform(0.9,0.999);nstep=int(1,20);width=logint(8,512);opt=choice(adam,rmsprop)";

    [Fact]
    public void Samples_are_in_range_and_depend_only_on_seed_and_trial()
    {
        var space = SearchSpace.Parse(Spec);
        for (long n = 0; n < 500; n++)
        {
            var c = space.Sample(7, n);
            foreach (var p in space.Parameters) Assert.True(p.Contains(c[p.Name]), $"{p.Describe()} got {c[p.Name]}");
            Assert.Equal(c.ToString(), space.Sample(7, n).ToString());
            Assert.Equal(c.ToString(), SearchSpace.Parse(space.Describe()).Sample(7, n).ToString());
        }
        Assert.NotEqual(space.Sample(7, 0).ToString(), space.Sample(8, 0).ToString());
    }

    [Fact]
    public void Draws_cover_the_range_evenly()
    {
        // 4,000 draws of a uniform parameter: each tenth of the range gets 10% ± 2%.
        var p = new UniformParameter("x", 0, 1);
        var counts = new int[10];
        for (long n = 0; n < 4000; n++) counts[Math.Min(9, (int)(p.At(SearchSpace.Draw(3, n, "x")).AsDouble * 10))]++;
        Assert.All(counts, c => Assert.InRange(c, 320, 480));
        // A log-uniform parameter puts about a third of its draws in each decade of [1e-4, 1e-1].
        var lr = new LogUniformParameter("lr", 1e-4, 1e-1);
        int firstDecade = Enumerable.Range(0, 3000).Count(n => lr.At(SearchSpace.Draw(3, n, "lr")).AsDouble < 1e-3);
        Assert.InRange(firstDecade, 900, 1100);
    }

    [Theory]
    [InlineData("lr=log(0,1)", "lr")]
    [InlineData("x=uniform(1,1)", "x")]
    [InlineData("n=int(5,2)", "n")]
    [InlineData("c=choice()", "c")]
    [InlineData("y=gauss(0,1)", "unknown kind")]
    [InlineData("z=uniform(0,abc)", "'abc' is not a number")]
    [InlineData("nonsense", "not name=kind(args)")]
    [InlineData("a=uniform(0,1);a=uniform(0,2)", "defined twice")]
    public void A_bad_space_is_a_one_line_input_error_naming_the_parameter(string spec, string expected)
    {
        var ex = Assert.Throws<InputException>(() => SearchSpace.Parse(spec));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
