using Condense.Core;
using Condense.Search.Running;
using Condense.Search.Studies;
using Condense.Testing;

namespace Condense.Search.Cluster.Tests;

public sealed class RedisStudyStoreTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private RedisStudyStore Store() => new(RedisAddress.Parse(_redis.Url));

    private static StudyDefinition Def(string name, int trials) =>
        new(name, "synthetic", "x=uniform(0,1)", "hypertrick(phases=2,r=0.5)", 3, Direction.Maximize, trials);

    [Fact]
    public void Leases_expire_and_a_restarted_coordinator_continues_from_redis()
    {
        var clock = new VirtualClock();
        var lease = TimeSpan.FromSeconds(10);
        using (var store = Store())
        {
            var study = Study.Open(store, Def("a", 3), clock);
            var first = study.Lease("A", lease);
            Assert.True(study.Report("A", first.Trial, 1, 0.5, 1, 1, lease).KeepGoing);
            clock.Now = 60;
        }
        using (var store = Store())
        {
            var study = Study.Open(store, Def("a", 3), clock);
            var again = study.Lease("B", lease);
            Assert.Equal((0L, 2), (again.Trial, again.StartPhase)); // A's lease ran out: B resumes at phase 2
            Assert.True(study.Report("A", 0, 2, 0.9, 1, 1, lease).LeaseLost);
            Assert.Equal(Scheduling.Decision.Complete, study.Report("B", 0, 2, 0.9, 1, 1, lease).Decision);
            Assert.True(study.Report("B", 0, 2, 0.9, 1, 1, lease).Duplicate);
            Assert.Equal(["a"], store.Studies());
            Assert.Equal(2, store.Reports("a").Count);
        }
    }

    [Fact]
    public void Concurrent_coordinators_never_hand_out_a_trial_twice()
    {
        // Two stores (two connections, as two silos during a fail-over) lease from one study at once: the
        // compare-and-set makes every operation atomic, so trial numbers are unique and none is lost.
        using var s1 = Store();
        using var s2 = Store();
        var a = Study.Open(s1, Def("c", 80));
        var b = Study.Attach(s2, "c");
        var leased = new System.Collections.Concurrent.ConcurrentBag<long>();
        Parallel.For(0, 2, i =>
        {
            var study = i == 0 ? a : b;
            for (int k = 0; k < 40; k++) leased.Add(study.Lease($"w{i}-{k}", TimeSpan.FromMinutes(5)).Trial);
        });
        Assert.Equal(80, leased.Distinct().Count());
        Assert.Equal(80, a.Status().ByState[TrialState.Running]);
    }

    [Fact]
    public void An_unreachable_server_and_a_bad_address_are_input_errors_naming_them()
    {
        var ex = Assert.Throws<InputException>(() => new RedisStudyStore(RedisAddress.Parse("redis://127.0.0.1:1")));
        Assert.Contains("redis://127.0.0.1:1", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InputException>(() => RedisAddress.Parse("http://x:1"));
        Assert.Equal(6379, RedisAddress.Parse("redis://db.local").Port);
    }
}
