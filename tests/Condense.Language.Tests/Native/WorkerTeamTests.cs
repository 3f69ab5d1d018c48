using Condense.Language.Native;

namespace Condense.Language.Tests.Native;

public sealed class WorkerTeamTests
{
    [Fact]
    public void Every_part_runs_once_however_many_threads_are_asked_for()
    {
        foreach (int threads in new[] { 1, 2, 3, 64 })
            foreach (int count in new[] { 1, 2, 7, 100 })
            {
                var runs = new int[count];
                WorkerTeam.Shared.Run(count, threads, p => Interlocked.Increment(ref runs[p]));
                Assert.All(runs, r => Assert.Equal(1, r));
            }
    }

    [Fact]
    public void Callers_on_several_threads_at_once_all_get_their_parts_run()
    {
        // A caller that finds the team busy runs its parts itself; none is lost or run twice.
        var totals = new long[4];
        Parallel.For(0, 4, c =>
        {
            for (int round = 0; round < 200; round++)
                WorkerTeam.Shared.Run(8, 2, p => Interlocked.Add(ref totals[c], p + 1));
        });
        Assert.All(totals, t => Assert.Equal(200L * 36, t));
    }

    [Fact]
    public void A_part_that_runs_the_team_again_runs_its_own_parts_inline()
    {
        var inner = new int[4 * 3];
        WorkerTeam.Shared.Run(4, 2, outer => WorkerTeam.Shared.Run(3, 2, p => Interlocked.Increment(ref inner[outer * 3 + p])));
        Assert.All(inner, r => Assert.Equal(1, r));
    }

    [Fact]
    public void A_failing_part_fails_the_run_and_the_team_keeps_working()
    {
        var error = Record.Exception(() => WorkerTeam.Shared.Run(16, 2, p =>
        {
            if (p >= 8) throw new ArithmeticException($"part {p}");
        }));
        Assert.True(error is ArithmeticException || error?.InnerException is ArithmeticException, $"got {error}");
        int sum = 0;
        WorkerTeam.Shared.Run(10, 2, p => Interlocked.Add(ref sum, p));
        Assert.Equal(45, sum);
    }
}
