using System.CommandLine;
using System.Globalization;
using Condense.Core.Reports;
using Condense.Experiments;
using Condense.Experiments.Vision;
using Condense.Vision.Distillation;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense bench ...</c>: benchmarks anyone can rerun; results go to stdout (and --json), and with
/// <c>--doc FILE</c> into that Markdown file's section for the benchmark, with the command that produced them.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks (not run in CI): distill, backbones, conv-paths, train-step and lm (against PyTorch), decode, routed-mlp, gemv, sparse-gemv.");
        bench.Subcommands.Add(Distill());
        bench.Subcommands.Add(Backbones());
        bench.Subcommands.Add(ConvPaths());
        bench.Subcommands.Add(Profile());
        bench.Subcommands.Add(HighResolution());
        bench.Subcommands.Add(BenchPeerCommands.TrainStep());
        bench.Subcommands.Add(BenchPeerCommands.Lm());
        bench.Subcommands.Add(Decode());
        bench.Subcommands.Add(RoutedMlp());
        bench.Subcommands.Add(SparseGemv());
        bench.Subcommands.Add(Gemv());
        return bench;
    }

    // A benchmark's ending: with --doc, the table under its command in the doc's section and the JSON in results/SECTION.json
    // beside it; then the result on stdout (JSON, or the table).
    private static int Report(CliOutput output, string? docPath, string section, string markdown, object result)
    {
        if (docPath is not null) GeneratedDoc.Write(docPath, section, markdown, result, jsonName: Path.Combine("results", section));
        output.Result(result);
        if (!output.Json) output.Human.WriteLine(markdown);
        return ExitCodes.Ok;
    }

    // --shapes: comma-separated ROWSxCOLUMNS, columns a multiple of columnMultiple, at most 2^28 weights each.
    private static List<(int Rows, int Columns)> ParseShapes(string text, int columnMultiple) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
        {
            var parts = t.Split('x');
            return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var c)
                && r >= 1 && c >= columnMultiple && c % columnMultiple == 0 && (long)r * c <= 1L << 28
                ? (r, c) : throw new Condense.Core.InputException($"--shapes '{t}': expected ROWSxCOLUMNS with columns a multiple of {columnMultiple} (at most 2^28 weights)");
        }).ToList();

    /// <summary>Dense GEMV from DRAM: rows one after another against four side by side.</summary>
    private static Command Gemv()
    {
        var json = CommonOptions.Json();
        var shapes = new Option<string>("--shapes") { Description = "Comma-separated ROWSxCOLUMNS (columns a multiple of 16).", DefaultValueFactory = _ => "1024x1024,2816x1024,1024x2816,32000x1024,768x288,32000x288" };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 7 };
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file (e.g. docs/benchmarks.md), the JSON into results/ beside it." };
        var section = CommonOptions.Section();
        var cmd = new Command("gemv", "Dense matrix-vector products from DRAM on the native kernels (one thread): rows one after another against four side by side, alternated.")
        {
            shapes, rounds, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var list = ParseShapes(pr.GetValue(shapes)!, 16);
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds must be at least 1, got {pr.GetValue(rounds)}");
            var result = Condense.Experiments.Deployment.GemvBenchmark.Run(list, pr.GetValue(rounds), Console.Error.WriteLine);
            var markdown = Condense.Experiments.Deployment.GemvBenchmark.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(section), "gemv"), markdown, result);
        });
        return cmd;
    }

    /// <summary>Packed 2:4 against dense GEMV on the native kernels.</summary>
    private static Command SparseGemv()
    {
        var json = CommonOptions.Json();
        var shapes = new Option<string>("--shapes") { Description = "Comma-separated ROWSxCOLUMNS (columns a multiple of 32).", DefaultValueFactory = _ => "1024x1024,4096x4096,4096x11008,11008x4096" };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 5 };
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file (e.g. docs/benchmarks.md), the JSON into results/ beside it." };
        var sparseSection = CommonOptions.Section();
        var cmd = new Command("sparse-gemv", "Packed 2:4 against dense matrix-vector products (one thread, the native engine's kernels), alternated.")
        {
            shapes, rounds, doc, sparseSection, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var list = ParseShapes(pr.GetValue(shapes)!, 32);
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds must be at least 1, got {pr.GetValue(rounds)}");
            var result = Condense.Experiments.Deployment.SparseGemvBenchmark.Run(list, pr.GetValue(rounds), log: Console.Error.WriteLine);
            var markdown = Condense.Experiments.Deployment.SparseGemvBenchmark.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(sparseSection), "sparse-gemv"), markdown, result);
        });
        return cmd;
    }

    /// <summary>Batch-1 decoding: Condense's torch path, its native engine and llama.cpp on the same weights.</summary>
    private static Command Decode()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated: stories260K, llama2xs, d288, d1024 (the last two random weights).", DefaultValueFactory = _ => "stories260K,llama2xs,d288,d1024" };
        var threads = new Option<string>("--threads") { Description = "Comma-separated thread counts (torch, native engine and llama.cpp alike).", DefaultValueFactory = _ => "1" };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 3 };
        var prefill = new Option<int>("--prefill") { Description = "Prompt tokens.", DefaultValueFactory = _ => 64 };
        var decode = new Option<int>("--decode") { Description = "Teacher-forced decode steps.", DefaultValueFactory = _ => 128 };
        var workDir = new Option<string>("--work-dir") { Description = "Where the GGUF files go.", DefaultValueFactory = _ => Path.Combine("runs", "bench-decode") };
        var twoFour = new Option<bool>("--two-four") { Description = "Mask the projections 2:4 by magnitude and add the native engine on packed 2:4 weights (section decode-2-4 with --doc)." };
        var decodeSection = CommonOptions.Section();
        var threadingAblation = new Option<bool>("--threading-ablation") { Description = "At more than one thread, add the native engine on Parallel.For with the earlier 2^18 threshold (the ablation of its spinning workers)." };
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file (e.g. docs/benchmarks.md), the JSON into results/ beside it." };
        var python = new Option<string?>("--python") { Description = "A Python with PyTorch (e.g. /usr/bin/python3 after CONDENSE_BENCH_PEERS=1 scripts/setup.sh): adds PyTorch as an engine." };
        var cmd = new Command("decode", "Batch-1 decode and prefill tokens/s: Condense torch path, Condense native engine, llama.cpp (GGUF written by Condense), optionally PyTorch, alternated.")
        {
            models, threads, rounds, prefill, decode, workDir, twoFour, threadingAblation, python, doc, decodeSection, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var threadList = pr.GetValue(threads)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
                    : throw new Condense.Core.InputException($"--threads '{t}' is not a positive integer")).ToList();
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds must be at least 1, got {pr.GetValue(rounds)}");
            if (pr.GetValue(prefill) < 1 || pr.GetValue(decode) < 1) throw new Condense.Core.InputException("--prefill and --decode must be at least 1");
            Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
            var options = new Condense.Experiments.Deployment.DecodeBenchmarkOptions
            {
                Models = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Threads = threadList,
                Rounds = pr.GetValue(rounds),
                PrefillTokens = pr.GetValue(prefill),
                DecodeTokens = pr.GetValue(decode),
                WorkDir = pr.GetValue(workDir)!,
                TwoFour = pr.GetValue(twoFour),
                ThreadingAblation = pr.GetValue(threadingAblation),
                Log = Console.Error.WriteLine,
                Python = pr.GetValue(python),
                PeerScript = pr.GetValue(python) is null ? null
                    : Path.Combine(Condense.Core.IO.AssetPaths.RepositoryRoot() ?? throw new Condense.Core.InputException("--python: the PyTorch peer needs a checkout of the repository (bench/peers/); none found above the current folder"),
                        "bench", "peers", "pytorch_llama_bench.py"),
            };
            var result = Condense.Experiments.Deployment.DecodeBenchmark.Run(options);
            var markdown = Condense.Experiments.Deployment.DecodeBenchmark.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(decodeSection), pr.GetValue(twoFour) ? "decode-2-4" : "decode"), markdown, result);
        });
        return cmd;
    }

    /// <summary>Per-token MLP routing on the native engine against the static sub-network of the same MLP width, by model size.</summary>
    private static Command RoutedMlp()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated: stories260K, llama2xs, d288, d1024 (the last two random weights).", DefaultValueFactory = _ => "llama2xs,d288,d1024" };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 15 };
        var prefill = new Option<int>("--prefill") { Description = "Prompt tokens.", DefaultValueFactory = _ => 64 };
        var decode = new Option<int>("--decode") { Description = "Tokens decoded one at a time after the prompt (times per token).", DefaultValueFactory = _ => 32 };
        var threads = new Option<int>("--threads") { Description = "Native engine threads.", DefaultValueFactory = _ => 1 };
        var workDir = new Option<string>("--work-dir") { Description = "Where the random models' tokenizers go.", DefaultValueFactory = _ => Path.Combine("runs", "bench-routed-mlp") };
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file (e.g. docs/benchmarks.md), the JSON into results/ beside it." };
        var section = CommonOptions.Section();
        var cmd = new Command("routed-mlp", "Flextron's per-token MLP routing (every token routed to one width) against the static sub-network of that MLP width and the full model, native engine, alternated.")
        {
            models, rounds, prefill, decode, threads, workDir, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds must be at least 1, got {pr.GetValue(rounds)}");
            if (pr.GetValue(threads) < 1) throw new Condense.Core.InputException($"--threads must be at least 1, got {pr.GetValue(threads)}");
            if (pr.GetValue(prefill) < 1 || pr.GetValue(decode) < 1) throw new Condense.Core.InputException("--prefill and --decode must be at least 1");
            Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
            var options = new Condense.Experiments.Deployment.RoutedMlpBenchmarkOptions
            {
                Models = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Rounds = pr.GetValue(rounds),
                PrefillTokens = pr.GetValue(prefill),
                DecodeTokens = pr.GetValue(decode),
                Threads = pr.GetValue(threads),
                WorkDir = pr.GetValue(workDir)!,
                Log = Console.Error.WriteLine,
            };
            var result = Condense.Experiments.Deployment.RoutedMlpBenchmark.Run(options);
            var markdown = Condense.Experiments.Deployment.RoutedMlpBenchmark.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(section), "routed-mlp"), markdown, result);
        });
        return cmd;
    }

    private static Command Distill()
    {
        var json = CommonOptions.Json();
        var recipe = new Option<string?>("--recipe") { Description = "Recipe YAML (default: configs/radio/default.yaml)." };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key (repeatable)." };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per mode and round.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps before each timing.", DefaultValueFactory = _ => 2 };
        var doc = new Option<string?>("--doc") { Description = "Write the result into this Markdown file (e.g. docs/benchmarks.md)." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("distill", "Distillation step throughput: student alone vs teacher targets from the cache vs teachers online.")
        {
            recipe, set, rounds, steps, warmup, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var overrides = pr.GetValue(set) ?? [];
            var r = pr.GetValue(recipe) is string path ? RecipeLoader.Load(path, overrides) : RecipeLoader.LoadDefault(overrides);
            var result = DistillBenchmark.Run(r, pr.GetValue(rounds), pr.GetValue(steps), pr.GetValue(warmup), pr.GetValue(progress));
            var command = GeneratedDoc.CommandLine();
            var table = new MarkdownTable("mode", "images/s (median)", "per round", "vs student")
            {
                DoubleFormat = "F1",
            };
            foreach (var m in result.Modes)
                table.AddRow(m.Mode, m.ImagesPerSecond, string.Join(", ", m.PerRound.Select(v => v.ToString("F1", CultureInfo.InvariantCulture))),
                    m.Mode == "student" ? "1.00" : (m.Mode == "cached" ? result.CachedOverStudent : result.OnlineOverStudent).ToString("F2", CultureInfo.InvariantCulture));
            var cost = new MarkdownTable("teacher", "input size", "teacher ms / image");
            foreach (var c in result.TeacherCost) cost.AddRow(c.Teacher, c.InputSize, c.MsPerImage.ToString("F2", CultureInfo.InvariantCulture));
            var raw = new
            {
                batch_size = result.BatchSize,
                steps = result.Steps,
                rounds = result.Rounds,
                modes = result.Modes.Select(m => new { mode = m.Mode, images_per_s = m.ImagesPerSecond, per_round = m.PerRound }),
                cached_over_student = result.CachedOverStudent,
                online_over_student = result.OnlineOverStudent,
                teacher_cost = result.TeacherCost.Select(c => new { teacher = c.Teacher, input_size = c.InputSize, ms_per_image = c.MsPerImage }),
            };
            output.Result(raw);
            if (!output.Json) output.Human.WriteLine(table.ToString() + "\n" + cost);
            if (pr.GetValue(doc) is string docPath)
            {
                var section = new MarkdownReport()
                    .Heading(2, "Distillation throughput: cached vs online teachers")
                    .Paragraph($"Recipe `{r.Name}` (student {r.Student.Model} dim {r.Student.EmbedDim} depth {r.Student.Depth} at {r.Data.Resolution} px, " +
                               $"batch {result.BatchSize}; teachers {string.Join(", ", r.Teachers.Select(t => $"{t.Name}@{t.InputSize}"))}), " +
                               $"{result.Rounds} alternated rounds of {result.Steps} timed steps per mode, {TorchSharp.torch.get_num_threads()} threads, {Condense.Core.Runtime.MachineInfo.Describe()}.")
                    .CodeBlock("", command)
                    .Table(table)
                    .Paragraph("\"student\" is the student's own forward+backward with the targets already in memory; \"cached\" reads " +
                               "the teacher targets from the disk cache inside the step (what `condense distill` does); \"online\" runs every " +
                               "teacher inside the step. Target: cached ≥ 0.90 of student.")
                    .Table(cost);
                MarkdownSection.Write(docPath, "distill-throughput", section.ToString());
                GeneratedDoc.WriteResultsJson(docPath, "distill-throughput", raw);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Backbones()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated registry names (see `condense models`).", DefaultValueFactory = _ => "vit_small,fastervit_0,eradio_xt" };
        var resolutions = new Option<string>("--resolutions") { Description = "Comma-separated square input sides.", DefaultValueFactory = _ => "224,512,1024" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Large batch at 224 px; higher resolutions keep its pixel budget.", DefaultValueFactory = _ => 32 };
        var seconds = new Option<double>("--seconds") { Description = "Timed seconds per measurement (at least 2 calls).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: torch's)." };
        var noTrain = new Option<bool>("--no-train") { Description = "Skip the training-step measurements." };
        var doc = new Option<string?>("--doc") { Description = "Write the table into this Markdown file (e.g. docs/benchmarks.md) and the plot beside it (results/backbones-throughput.png)." };
        var cmd = new Command("backbones", "Throughput and peak memory of ViT, FasterViT and E-RADIO vs resolution (inference batch 1 and large, training step).")
        {
            models, resolutions, maxBatch, seconds, threads, noTrain, doc, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var n in names) Condense.Vision.Models.ModelRegistry.Info(n);   // unknown names fail before any work
            var sides = pr.GetValue(resolutions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => int.TryParse(v, CultureInfo.InvariantCulture, out int r) && r >= 32 ? r
                    : throw new Condense.Core.InputException($"--resolutions: '{v}' is not a side of at least 32 px")).ToList();
            if (pr.GetValue(maxBatch) < 1) throw new Condense.Core.InputException($"--max-batch = {pr.GetValue(maxBatch)}: must be at least 1");
            Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
            if (pr.GetValue(threads) is int t) Condense.Core.Runtime.TorchRuntime.SetThreads(t);
            var rows = Condense.Experiments.Vision.BackboneBenchmark.Run(names, sides, pr.GetValue(maxBatch), pr.GetValue(seconds), !pr.GetValue(noTrain),
                line => output.Human.MarkupLine(Markup.Escape(line)));
            var command = GeneratedDoc.CommandLine();
            var table = new MarkdownTable("model", "params", "px", "mode", "batch", "images/s", "peak extra MiB", "vs " + names[0]) { DoubleFormat = "F2" };
            double Baseline(Condense.Experiments.Vision.BackboneBenchRow r) =>
                rows.FirstOrDefault(b => b.Model == names[0] && b.Resolution == r.Resolution && b.Mode == r.Mode && b.Batch == r.Batch)?.ImagesPerSecond ?? double.NaN;
            foreach (var r in rows.OrderBy(r => r.Resolution).ThenBy(r => r.Mode).ThenBy(r => r.Batch).ThenBy(r => Array.IndexOf(names, r.Model)))
                table.AddRow(r.Model, (r.Parameters / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M", r.Resolution, r.Mode, r.Batch,
                    r.ImagesPerSecond, r.PeakMemoryMiB.ToString("F0", CultureInfo.InvariantCulture),
                    (r.ImagesPerSecond / Baseline(r)).ToString("F2", CultureInfo.InvariantCulture));
            string? plot = null;
            if (pr.GetValue(doc) is string docPath)
            {
                plot = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(docPath))!, "results", "backbones-throughput.png");
                var series = new List<PlotSeries>();
                foreach (var m in names.Skip(1))
                    foreach (var (mode, large) in new[] { ("infer", false), ("infer", true), ("train", true) })
                    {
                        var pts = sides.Select(res => (res, row: rows.FirstOrDefault(r => r.Model == m && r.Resolution == res && r.Mode == mode
                                && (large ? r.Batch == Condense.Experiments.Vision.BackboneBenchmark.LargeBatch(res, pr.GetValue(maxBatch)) : r.Batch == 1))))
                            .Where(p => p.row is not null).ToList();
                        if (pts.Count == 0 || (large && mode == "infer" && pts.All(p => p.row!.Batch == 1))) continue;
                        series.Add(new PlotSeries($"{m} / {names[0]} {mode} {(large ? "large batch" : "batch 1")}",
                            pts.Select(p => (double)p.res).ToList(), pts.Select(p => p.row!.ImagesPerSecond / Baseline(p.row)).ToList()));
                    }
                Plots.LineChart(plot, $"Throughput relative to {names[0]} vs resolution", "input side (px)", $"images/s ÷ {names[0]} images/s", series, logY: true);
                var section = new MarkdownReport()
                    .Heading(2, "Backbones: throughput and memory vs resolution (ViT vs FasterViT vs E-RADIO)")
                    .Paragraph($"{TorchSharp.torch.get_num_threads()} threads, {Condense.Core.Runtime.MachineInfo.Describe()}, fp32, random weights. " +
                               $"Large batch = {pr.GetValue(maxBatch)} at 224 px, then the same pixel budget (fewer images) at higher resolutions, " +
                               "since batch 32 at 1024 px would take many minutes per call on this CPU; where the large batch is 1 only batch 1 is shown. " +
                               "Training = forward, loss on summary and features, backward and an AdamW step at the large batch. " +
                               "Peak extra MiB = peak resident memory during the timed calls minus the resident memory before them (activations, workspace, gradients, optimizer state).")
                    .CodeBlock("", command)
                    .Table(table)
                    .Image("throughput ratio vs resolution", "results/backbones-throughput.png");
                MarkdownSection.Write(docPath, "backbones-throughput", section.ToString());
            }
            var raw = new
            {
                rows = rows.Select(r => new
                {
                    model = r.Model, family = r.Family, parameters = r.Parameters, resolution = r.Resolution, mode = r.Mode, batch = r.Batch,
                    images_per_s = r.ImagesPerSecond, peak_extra_mib = double.IsNaN(r.PeakMemoryMiB) ? (double?)null : r.PeakMemoryMiB, calls = r.Calls,
                }),
                plot,
            };
            if (pr.GetValue(doc) is string jsonDoc) GeneratedDoc.WriteResultsJson(jsonDoc, "backbones-throughput", raw);
            output.Result(raw);
            if (!output.Json) output.Human.WriteLine(table.ToString());
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Profile()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated registry names to profile.", DefaultValueFactory = _ => "vit_small,fastervit_0,eradio_xt" };
        var resolution = new Option<int>("--resolution") { Description = "Square input side.", DefaultValueFactory = _ => 1024 };
        var threads = new Option<int>("--threads") { Description = "Threads of TorchSharp and ONNX Runtime.", DefaultValueFactory = _ => 2 };
        var forwards = new Option<int>("--forwards") { Description = "Profiled forwards per model (after one warm-up).", DefaultValueFactory = _ => 3 };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds per convolution in the engine comparison.", DefaultValueFactory = _ => 3 };
        var doc = CommonOptions.Doc("the profile tables");
        var section = CommonOptions.Section();
        var cmd = new Command("profile", "Where a backbone's inference time goes, per operation, and each of its convolutions alone in TorchSharp and ONNX Runtime.")
        {
            models, resolution, threads, forwards, rounds, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var n in names) Condense.Vision.Models.ModelRegistry.Info(n);
            if (pr.GetValue(resolution) < 32) throw new Condense.Core.InputException($"--resolution = {pr.GetValue(resolution)}: must be at least 32");
            if (pr.GetValue(threads) < 1) throw new Condense.Core.InputException($"--threads = {pr.GetValue(threads)}: must be at least 1");
            if (pr.GetValue(forwards) < 1) throw new Condense.Core.InputException($"--forwards = {pr.GetValue(forwards)}: must be at least 1");
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds = {pr.GetValue(rounds)}: must be at least 1");
            var result = Condense.Experiments.Vision.BackboneProfile.Run(new Condense.Experiments.Vision.BackboneProfileOptions
            {
                Models = names,
                Resolution = pr.GetValue(resolution),
                Threads = pr.GetValue(threads),
                Forwards = pr.GetValue(forwards),
                Rounds = pr.GetValue(rounds),
                Log = line => Console.Error.WriteLine(line),
            });
            var markdown = Condense.Experiments.Vision.BackboneProfile.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(section), "backbone-profile"), markdown, result);
        });
        return cmd;
    }

    private static Command HighResolution()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated registry names; the first is the reference.", DefaultValueFactory = _ => "vit_small,fastervit_0,eradio_xt" };
        var resolution = new Option<int>("--resolution") { Description = "Square input side.", DefaultValueFactory = _ => 1024 };
        var batch = new Option<int>("--batch") { Description = "Images per forward.", DefaultValueFactory = _ => 1 };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: torch's)." };
        var onnxRuntime = new Option<bool>("--onnx-runtime") { Description = "Also run every model as its ONNX export in ONNX Runtime (same threads)." };
        var doc = CommonOptions.Doc("the table");
        var section = CommonOptions.Section();
        var cmd = new Command("highres", "Backbone inference at a high resolution against a reference (ViT-S), alternated; windowed models with and without GemmConv2d.")
        {
            models, resolution, batch, rounds, threads, onnxRuntime, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var n in names) Condense.Vision.Models.ModelRegistry.Info(n);
            if (names.Length < 2) throw new Condense.Core.InputException($"--models '{pr.GetValue(models)}': give a reference and at least one other model");
            if (pr.GetValue(resolution) < 32) throw new Condense.Core.InputException($"--resolution = {pr.GetValue(resolution)}: must be at least 32");
            if (pr.GetValue(batch) < 1) throw new Condense.Core.InputException($"--batch = {pr.GetValue(batch)}: must be at least 1");
            if (pr.GetValue(rounds) < 2) throw new Condense.Core.InputException($"--rounds = {pr.GetValue(rounds)}: must be at least 2");
            var result = Condense.Experiments.Vision.HighResolutionBenchmark.Run(new Condense.Experiments.Vision.HighResolutionOptions
            {
                Models = names,
                Resolution = pr.GetValue(resolution),
                Batch = pr.GetValue(batch),
                Rounds = pr.GetValue(rounds),
                Threads = pr.GetValue(threads),
                OnnxRuntime = pr.GetValue(onnxRuntime),
                Log = line => Console.Error.WriteLine(line),
            });
            var markdown = Condense.Experiments.Vision.HighResolutionBenchmark.Markdown(result);
            return Report(output, pr.GetValue(doc), CommonOptions.SectionName(pr.GetValue(section), "backbones-highres"), markdown, result);
        });
        return cmd;
    }

    private static Command ConvPaths()
    {
        var json = CommonOptions.Json();
        var models = new Option<string>("--models") { Description = "Comma-separated registry names to time.", DefaultValueFactory = _ => "vit_small,fastervit_0,eradio_xt" };
        var resolution = new Option<int>("--resolution") { Description = "Square input side.", DefaultValueFactory = _ => 224 };
        var trainBatch = new Option<int>("--train-batch") { Description = "Images per training step.", DefaultValueFactory = _ => 8 };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds (one call per path each).", DefaultValueFactory = _ => 5 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: torch's)." };
        var doc = new Option<string?>("--doc") { Description = "Write the tables into this Markdown file (e.g. docs/benchmarks.md) and the JSON to results/conv-paths.json beside it." };
        var cmd = new Command("conv-paths", "libtorch's convolution paths: oneDNN vs native kernels, correctness against float64 (junk-filled memory) and speed.")
        {
            models, resolution, trainBatch, rounds, threads, doc, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var n in names) Condense.Vision.Models.ModelRegistry.Info(n);
            if (pr.GetValue(resolution) < 32) throw new Condense.Core.InputException($"--resolution = {pr.GetValue(resolution)}: must be at least 32");
            if (pr.GetValue(trainBatch) < 1) throw new Condense.Core.InputException($"--train-batch = {pr.GetValue(trainBatch)}: must be at least 1");
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds = {pr.GetValue(rounds)}: must be at least 1");
            Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
            if (pr.GetValue(threads) is int t) Condense.Core.Runtime.TorchRuntime.SetThreads(t);
            var errors = Condense.Experiments.Vision.ConvPathBenchmark.CheckShapes(Condense.Experiments.Vision.ConvPathBenchmark.DefaultShapes);
            var timings = Condense.Experiments.Vision.ConvPathBenchmark.Time(names, pr.GetValue(resolution), pr.GetValue(trainBatch), pr.GetValue(rounds),
                line => output.Human.MarkupLine(Markup.Escape(line)));
            string E(double v) => double.IsPositiveInfinity(v) ? "NaN" : v.ToString("0.0e+0", CultureInfo.InvariantCulture);
            var correctness = new MarkdownTable("shape", "native: output / input grad / weight grad", "oneDNN: output / input grad / weight grad", "oneDNN ok");
            foreach (var g in errors.GroupBy(e => e.Shape))
            {
                var native = g.Single(e => e.Path == "native");
                var onednn = g.Single(e => e.Path == "oneDNN");
                correctness.AddRow(g.Key.ToString(), $"{E(native.Output)} / {E(native.InputGradient)} / {E(native.WeightGradient)}",
                    $"{E(onednn.Output)} / {E(onednn.InputGradient)} / {E(onednn.WeightGradient)}", onednn.Worst <= 1e-4 ? "yes" : "**no**");
            }
            var speed = new MarkdownTable("model", "px", "mode", "batch", "native ms", "oneDNN ms", "oneDNN speed-up") { DoubleFormat = "F0" };
            foreach (var r in timings)
                speed.AddRow(r.Model, r.Resolution, r.Mode, r.Batch, r.NativeSeconds * 1e3, r.OneDnnSeconds * 1e3,
                    r.OneDnnSpeedup.ToString("F2", CultureInfo.InvariantCulture) + "x");
            var result = new
            {
                threads = TorchSharp.torch.get_num_threads(),
                machine = Condense.Core.Runtime.MachineInfo.Describe(),
                correctness = errors.Select(e => new
                {
                    shape = e.Shape.ToString(), path = e.Path,
                    output = Finite(e.Output), input_gradient = Finite(e.InputGradient), weight_gradient = Finite(e.WeightGradient),
                }),
                timings = timings.Select(r => new
                {
                    model = r.Model, resolution = r.Resolution, mode = r.Mode, batch = r.Batch, native_s = r.NativeSeconds, onednn_s = r.OneDnnSeconds,
                    onednn_speedup = r.OneDnnSpeedup, native_per_round = r.NativePerRound, onednn_per_round = r.OneDnnPerRound,
                }),
            };
            if (pr.GetValue(doc) is string docPath)
            {
                var command = GeneratedDoc.CommandLine();
                var section = new MarkdownReport()
                    .Heading(2, "Convolution paths: oneDNN vs libtorch's own kernels")
                    .Paragraph($"{TorchSharp.torch.get_num_threads()} threads, {Condense.Core.Runtime.MachineInfo.Describe()}. Correctness: float32 with junk-filled " +
                               "allocations (fresh memory is NaN) against float64, max |error| / max |float64| of the output and both gradients " +
                               "(NaN: not finite). Speed: median of the alternated rounds, random weights. Condense runs the native path (NativeKernels).")
                    .CodeBlock("", command)
                    .Table(correctness)
                    .Table(speed);
                MarkdownSection.Write(docPath, "conv-paths", section.ToString());
                GeneratedDoc.WriteResultsJson(docPath, "conv-paths", result);
            }
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(correctness.ToString() + "\n" + speed);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

}
