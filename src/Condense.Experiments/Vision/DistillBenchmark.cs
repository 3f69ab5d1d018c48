using System.Diagnostics;
using Condense.Core.Training;
using Condense.Vision.Distillation;
using Condense.Vision.Teachers;

namespace Condense.Experiments.Vision;

/// <summary>One mode's measured training throughput.</summary>
public sealed record DistillThroughput(string Mode, double ImagesPerSecond, IReadOnlyList<double> PerRound);

/// <summary>Result of <see cref="DistillBenchmark.Run"/>.</summary>
public sealed record DistillBenchmarkResult(int BatchSize, int Steps, int Rounds, IReadOnlyList<DistillThroughput> Modes,
    double CachedOverStudent, double OnlineOverStudent, IReadOnlyList<TeacherCostRow> TeacherCost);

/// <summary>
/// Distillation step throughput, three ways, alternated round by round on the same student and batches:
/// "student" — the student's own forward+backward against targets already in memory (the upper bound);
/// "cached" — targets read from the warm teacher cache inside the step (what `condense distill` does);
/// "online" — every teacher run inside the step. The claim to check: cached reaches ≥ 90% of student.
/// </summary>
public static class DistillBenchmark
{
    /// <summary>
    /// Images per second of each mode (median over <paramref name="rounds"/> of <paramref name="steps"/> timed steps after
    /// <paramref name="warmup"/>), and the cached and online throughput relative to the student mode.
    /// </summary>
    public static DistillBenchmarkResult Run(DistillRecipe recipe, int rounds, int steps, int warmup, ProgressMode progress)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        recipe = recipe with { Train = recipe.Train with { Cache = true } };
        var data = DistillData.Load(recipe.Data);
        using var session = DistillSession.Open(recipe, data, progress);
        var model = session.CreateModel(recipe);
        model.train();
        var loss = session.CreateLoss(recipe, model);
        int batch = recipe.Train.BatchSize, res = recipe.Data.Resolution;
        var batches = Enumerable.Range(0, warmup + steps)
            .Select(s => Enumerable.Range(s * batch % Math.Max(1, data.Train.Count - batch), batch).ToArray()).ToArray();

        // in-memory targets for the "student" mode, taken from the cache before any timing
        var memory = batches.Select(idx => session.Slots.ToDictionary(t => t.Name, t => Detach(t.Train.Get(idx)))).ToArray();

        var modes = new (string Name, Func<int, int[], IReadOnlyDictionary<string, TeacherOutput>> Targets)[]
        {
            ("student", (s, _) => memory[s]),
            ("cached", (_, idx) => session.Slots.ToDictionary(t => t.Name, t => t.Train.Get(idx))),
            ("online", (_, idx) => session.Slots.ToDictionary(t => t.Name, t => t.Teacher.Forward(DistillData.Images(data.Train, idx, null)))),
        };
        var perRound = modes.ToDictionary(m => m.Name, _ => new List<double>());
        var trainer = new Trainer(model, new TrainerOptions { RunDir = Path.GetTempPath(), MaxSteps = long.MaxValue / 2, LearningRate = 1e-4, Progress = ProgressMode.None });
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (name, targets) in modes)
            {
                double seconds = 0;
                for (int s = 0; s < warmup + steps; s++)
                {
                    var idx = batches[s];
                    using var images = DistillData.Images(data.Train, idx, res);
                    var clock = Stopwatch.StartNew();
                    trainer.TrainStep(() => loss.Compute(model.call(images), targets(s, idx)).Total);
                    if (s >= warmup) seconds += clock.Elapsed.TotalSeconds;
                }
                perRound[name].Add(steps * batch / seconds);
            }
        }
        foreach (var m in memory)
            foreach (var o in m.Values) { o.Summary?.Dispose(); o.Features?.Dispose(); }

        var results = modes.Select(m => new DistillThroughput(m.Name, Median(perRound[m.Name]), perRound[m.Name])).ToList();
        double Ratio(string a) => Median(perRound[a].Zip(perRound["student"], (x, y) => x / y).ToList());
        return new DistillBenchmarkResult(batch, steps, rounds, results, Ratio("cached"), Ratio("online"), session.Cost);
    }

    private static TeacherOutput Detach(TeacherOutput o) =>
        new(o.Summary?.DetachFromDisposeScope(), o.Features?.DetachFromDisposeScope());

    private static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
