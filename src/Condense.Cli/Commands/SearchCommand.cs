using System.CommandLine;
using Condense.Core;
using Condense.Core.IO;
using Condense.Search.Cluster;
using Condense.Search.Rl;
using Condense.Search.Running;
using Condense.Search.Studies;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense search run | worker | status</c>: hyperparameter search with HyperTrick (or ASHA, Hyperband, median
/// stopping, random search) on a durable study. <c>run</c> creates or resumes a study and works on it with local worker
/// threads; <c>worker</c> joins an existing study from another process (the study's SQLite file is shared); <c>status</c>
/// shows where a study stands.
/// </summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var search = new Command("search", "Hyperparameter search (HyperTrick, ASHA, Hyperband, median, random) on a durable study: run, worker, status.");
        search.Subcommands.Add(RunCommand());
        search.Subcommands.Add(WorkerCommand());
        search.Subcommands.Add(StatusCommand());
        return search;
    }

    private static Option<string?> Store() => new("--store") { Description = "The study store (SQLite file; default DIR/study.db)." };

    private static Option<string?> StudyName() => new("--study") { Description = "The study's name (default: the only study in the store)." };

    private static Option<string?> Cluster() => new("--cluster")
    {
        Description = "redis://HOST:PORT: join the search cluster there (Orleans silos with Redis membership; the study is kept in that Redis).",
    };

    private static Option<string> Advertise() => new("--advertise") { Description = "The IP address other silos reach this one at.", DefaultValueFactory = _ => "127.0.0.1" };

    private static Option<double> Lease() => new("--lease") { Description = "Seconds a worker holds a trial without reporting before it is requeued.", DefaultValueFactory = _ => 60 };

    private static Command RunCommand()
    {
        var json = CommonOptions.Json();
        var objectiveKind = new Option<string>("--objective") { Description = "a2c (an A2C agent learns --env) or distill (the default distillation recipe, small).", DefaultValueFactory = _ => "a2c" };
        var env = new Option<string>("--env") { Description = "Task of the a2c objective: cartpole or acrobot.", DefaultValueFactory = _ => "cartpole" };
        var scheduler = new Option<string>("--scheduler") { Description = "hypertrick(phases=9,r=0.5), random(...), asha(...), asha-promotion(...), hyperband(...), median(...).", DefaultValueFactory = _ => "hypertrick(phases=9,r=0.5)" };
        var space = new Option<string?>("--space") { Description = "Search space: name=kind(args);... with uniform, log, int, logint, choice (default: the objective's)." };
        var trials = new Option<int>("--trials") { Description = "Trials to start at most.", DefaultValueFactory = _ => 24 };
        var workers = new Option<int>("--workers") { Description = "Worker threads in this process.", DefaultValueFactory = _ => 2 };
        var phaseSteps = new Option<long>("--phase-steps") { Description = "Work per phase: environment steps (a2c, default 20000) or optimizer steps (distill, default 30)." };
        var seed = new Option<ulong>("--seed") { Description = "Study seed (configurations and trial seeds).", DefaultValueFactory = _ => 0 };
        var name = StudyName();
        var dir = new Option<string?>("--dir") { Description = "Study folder: the store and the trials' checkpoints (default runs/search-STUDY)." };
        var store = Store();
        var lease = Lease();
        var cluster = Cluster();
        var advertise = Advertise();
        var cmd = new Command("run", "Create or resume a study and run its trials on local workers (or as a silo of a cluster); rerun the same command to resume.")
        {
            objectiveKind, env, scheduler, space, trials, workers, phaseSteps, seed, name, dir, store, lease, cluster, advertise, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var kind = pr.GetValue(objectiveKind)!;
            if (kind == "a2c") _ = Environments.Create(pr.GetValue(env)!);
            var (objective, defaultSpace) = Condense.Experiments.Search.SearchObjectives.Create(kind, pr.GetValue(env)!, pr.GetValue(phaseSteps));
            if (kind == "distill" && pr.GetValue(workers) > 1)
                throw new InputException($"--workers {pr.GetValue(workers)}: the distill objective runs one trial per process (torch's random state is per process); add processes with `condense search worker`");
            var schedulerSpec = pr.GetValue(scheduler)!;
            var studyName = pr.GetValue(name) ?? $"{(kind == "a2c" ? pr.GetValue(env) : kind)}-{schedulerSpec.Split('(')[0]}";
            var folder = pr.GetValue(dir) ?? Path.Combine("runs", $"search-{studyName}");
            var definition = new StudyDefinition(studyName, objective.Name, pr.GetValue(space) ?? defaultSpace, schedulerSpec, pr.GetValue(seed), Direction.Maximize, pr.GetValue(trials));
            definition.Validate();
            var runOptions = new LocalRunOptions(pr.GetValue(workers), Path.Combine(folder, "trials"), pr.GetValue(lease));
            LocalRunSummary summary;
            StudyStatus status;
            if (pr.GetValue(cluster) is string url)
            {
                (summary, status) = RunInCluster(RedisAddress.Parse(url), pr.GetValue(advertise)!, studyName, definition, objective, runOptions, cancellation);
            }
            else
            {
                using var folderLock = RunFolderLock.Acquire(folder);
                using var db = new SqliteStudyStore(pr.GetValue(store) ?? Path.Combine(folder, "study.db"));
                var study = Study.Open(db, definition);
                Console.Error.WriteLine($"study {studyName} in {db.Location}: {schedulerSpec}, up to {definition.MaxTrials} trials, {pr.GetValue(workers)} workers");
                summary = LocalRunner.Optimize(study, objective, runOptions, line => Console.Error.WriteLine(line), cancellation);
                status = study.Status();
            }
            output.Result(new { status, run = summary, utilization = summary.Utilization });
            if (!output.Json) Render(output.Human, status, summary);
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    private static Command WorkerCommand()
    {
        var json = CommonOptions.Json();
        var store = new Option<string?>("--store") { Description = "The study store (SQLite file shared with the study's other processes)." };
        var name = StudyName();
        var workers = new Option<int>("--workers") { Description = "Worker threads in this process.", DefaultValueFactory = _ => 1 };
        var checkpoints = new Option<string?>("--checkpoints") { Description = "Checkpoint folder shared by all workers (default: trials/ beside the store, or runs/search-STUDY/trials in a cluster)." };
        var lease = Lease();
        var cluster = Cluster();
        var advertise = Advertise();
        var cmd = new Command("worker", "Join an existing study from this process (--store FILE, or --cluster redis://HOST:PORT --study NAME): lease its trials, run them, report; exits when the study is over.")
        {
            store, name, workers, checkpoints, lease, cluster, advertise, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            LocalRunSummary summary;
            if (pr.GetValue(cluster) is string url)
            {
                var studyName = pr.GetValue(name) ?? throw new InputException("--study: name the study to join in the cluster");
                var folder = pr.GetValue(checkpoints) ?? Path.Combine("runs", $"search-{studyName}", "trials");
                (summary, _) = RunInCluster(RedisAddress.Parse(url), pr.GetValue(advertise)!, studyName, null, null,
                    new LocalRunOptions(pr.GetValue(workers), folder, pr.GetValue(lease)), cancellation);
            }
            else
            {
                var path = pr.GetValue(store) ?? throw new InputException("--store or --cluster: say where the study is");
                if (!File.Exists(path)) throw new InputException($"{path}: no such study store");
                using var db = new SqliteStudyStore(path);
                var study = Study.Attach(db, ResolveName(db, pr.GetValue(name)));
                var objective = Condense.Experiments.Search.SearchObjectives.Parse(study.Definition.Objective);
                if (objective is Condense.Experiments.Search.DistillObjective && pr.GetValue(workers) > 1)
                    throw new InputException($"--workers {pr.GetValue(workers)}: the distill objective runs one trial per process; start more worker processes");
                var folder = pr.GetValue(checkpoints) ?? Path.Combine(Path.GetDirectoryName(db.Location)!, "trials");
                summary = LocalRunner.Optimize(study, objective, new LocalRunOptions(pr.GetValue(workers), folder, pr.GetValue(lease)),
                    line => Console.Error.WriteLine(line), cancellation);
            }
            output.Result(summary);
            if (!output.Json) output.Human.MarkupLine($"worker done: {summary.Phases} phases, utilization {summary.Utilization:P1}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    private static Command StatusCommand()
    {
        var json = CommonOptions.Json();
        var dir = new Argument<string>("STORE_OR_DIR") { Description = "A study folder (with study.db), a store file, or redis://HOST:PORT." };
        var name = StudyName();
        var cmd = new Command("status", "Where a study stands: trials by state and by phase reached, best so far, workers' utilization.") { dir, name, json };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var path = pr.GetValue(dir)!;
            if (Directory.Exists(path)) path = Path.Combine(path, "study.db");
            if (!path.StartsWith("redis://", StringComparison.Ordinal) && !File.Exists(path)) throw new InputException($"{path}: no such study store");
            using IStudyStore db = path.StartsWith("redis://", StringComparison.Ordinal) ? new RedisStudyStore(RedisAddress.Parse(path)) : new SqliteStudyStore(path);
            var study = Study.Attach(db, ResolveName(db, pr.GetValue(name)));
            var status = study.Status();
            output.Result(status);
            if (!output.Json) Render(output.Human, status, null);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // This process becomes a silo of the cluster at redis; its workers pull the study's trials through the study grain.
    private static (LocalRunSummary Summary, StudyStatus Status) RunInCluster(RedisAddress redis, string advertise, string studyName,
        StudyDefinition? definition, IPhasedObjective? objective, LocalRunOptions options, CancellationToken cancellation)
    {
        using var store = new RedisStudyStore(redis);
        if (definition is null)
        {
            // A worker may start before the study is created: wait for it a while, as cluster workers do.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            for (bool told = false; store.Find(studyName) is null; told = true)
            {
                if (!told) Console.Error.WriteLine($"waiting for study {studyName} to be created in {redis}");
                if (DateTime.UtcNow > deadline) throw new InputException($"{redis}: no study named '{studyName}' after waiting 60 s");
                cancellation.ThrowIfCancellationRequested();
                Thread.Sleep(250);
            }
        }
        using var silo = SearchSilo.Start(new SiloOptions(redis, AdvertisedHost: advertise), store);
        Console.Error.WriteLine($"silo of the search cluster at {redis} in process {Environment.ProcessId}");
        var client = new GrainStudyClient(silo.Grains, studyName, definition, line => Console.Error.WriteLine(line));
        objective ??= Condense.Experiments.Search.SearchObjectives.Parse(client.Definition.Objective);
        if (objective is Condense.Experiments.Search.DistillObjective && options.Workers > 1)
            throw new InputException($"--workers {options.Workers}: the distill objective runs one trial per process; start more worker processes");
        var summary = LocalRunner.Optimize(client, objective, options, line => Console.Error.WriteLine(line), cancellation);
        return (summary, Study.Attach(store, studyName).Status());
    }

    private static string ResolveName(IStudyStore store, string? name)
    {
        if (name is not null) return name;
        var names = store.Studies();
        return names.Count switch
        {
            1 => names[0],
            0 => throw new InputException($"{store.Location}: holds no study"),
            _ => throw new InputException($"{store.Location}: holds {names.Count} studies ({string.Join(", ", names)}); name one with --study"),
        };
    }

    private static void Render(IAnsiConsole console, StudyStatus s, LocalRunSummary? run)
    {
        console.MarkupLine($"[bold]{Markup.Escape(s.Name)}[/]: {Markup.Escape(s.Scheduler)}, {s.Trials.Count} of {s.MaxTrials} trials started, " +
            (s.Finished ? "finished" : "in progress"));
        console.MarkupLine("trials: " + string.Join(", ", s.ByState.Where(kv => kv.Value > 0).Select(kv => $"{kv.Value} {kv.Key.ToString().ToLowerInvariant()}")));
        console.MarkupLine("reports per phase: " + string.Join(" ", s.ReachedPhase.Select((n, i) => $"{i + 1}:{n}")));
        if (s.Best is { } b)
            console.MarkupLine($"best: trial {b.Trial}, score {b.Score:G6} at phase {b.Phase} ({Markup.Escape(b.Config.ToString())})");
        var table = new Table().AddColumn("worker").AddColumn(new TableColumn("phases").RightAligned()).AddColumn(new TableColumn("busy s").RightAligned())
            .AddColumn(new TableColumn("utilization").RightAligned());
        foreach (var w in s.Workers) table.AddRow(Markup.Escape(w.Worker), $"{w.Phases}", $"{w.BusySeconds:F1}", $"{w.Utilization:P1}");
        if (s.Workers.Count > 0) console.Write(table);
        foreach (var t in s.Trials.Where(t => t.State == TrialState.Running))
            console.MarkupLine($"running: trial {t.Trial} on {Markup.Escape(t.Worker ?? "?")}, phase {t.Phase} done");
        if (run is not null) console.MarkupLine($"this run: {run.Phases} phases in {run.WallSeconds:F1} s, worker utilization {run.Utilization:P1}");
    }
}
