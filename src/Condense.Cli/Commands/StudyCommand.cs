using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.IO;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Core.Runtime;
using Condense.Experiments;
using Condense.Experiments.Vision;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary><c>condense study ...</c>: the measurement studies that back the docs/results pages.</summary>
internal static class StudyCommand
{
    public static Command Create()
    {
        var study = new Command("study", "Measurement studies: phi-s, agglomeration, optimizer, maskllm-seeds, flextron, flextron-routing, mosaic, token-compression, mode-switch, backbones, hypertrick, vila-m3, export, onnx-export.");
        study.Subcommands.Add(PhiS());
        study.Subcommands.Add(Agglomeration());
        study.Subcommands.Add(OptimizerArms());
        study.Subcommands.Add(MaskLlmSeeds());
        study.Subcommands.Add(Flextron());
        study.Subcommands.Add(FlextronRouting());
        study.Subcommands.Add(FlextronHeldOut());
        study.Subcommands.Add(MosaicCommand());
        study.Subcommands.Add(TokenCompression());
        study.Subcommands.Add(ModeSwitch());
        study.Subcommands.Add(Backbones());
        study.Subcommands.Add(HyperTrick());
        study.Subcommands.Add(VilaM3());
        study.Subcommands.Add(Export());
        study.Subcommands.Add(OnnxExport());
        return study;
    }

    /// <summary>HyperTrick against random search, ASHA, Hyperband and median stopping on A2C agents, paired by seed, at equal compute.</summary>
    /// <summary>VILA-M3's claim on held-out brain MRI slices: the VLM with and without experts, the expert alone, a text-only floor.</summary>
    private static Command VilaM3()
    {
        var json = CommonOptions.Json();
        var defaults = new Condense.Experts.Training.VlmTrainOptions { RunDir = "" };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated training seeds.", DefaultValueFactory = _ => "0,1,2" };
        var perFamily = new Option<int>("--per-family") { Description = "Held-out questions per family.", DefaultValueFactory = _ => 100 };
        var segmenter = new Option<long>("--segmenter-steps") { Description = "Stage 0 steps (the learned segmentation expert).", DefaultValueFactory = _ => defaults.SegmenterSteps };
        var vision = new Option<long>("--vision-steps") { Description = "Stage 1 steps.", DefaultValueFactory = _ => defaults.VisionSteps };
        var align = new Option<long>("--align-steps") { Description = "Stage 2 steps.", DefaultValueFactory = _ => defaults.AlignSteps };
        var instruct = new Option<long>("--instruct-steps") { Description = "Stage 3 steps.", DefaultValueFactory = _ => defaults.InstructSteps };
        var expert = new Option<long>("--expert-steps") { Description = "Stage 4 steps.", DefaultValueFactory = _ => defaults.ExpertSteps };
        var atlasDir = VlmCommand.AtlasDir();
        var runDir = new Option<string>("--run-dir") { Description = "Where the per-seed runs go (finished runs are reused, interrupted ones resume).", DefaultValueFactory = _ => Path.Combine("runs", "study-vila-m3") };
        var doc = CommonOptions.Doc("the result table");
        var cmd = new Command("vila-m3", "VILA-M3 on held-out Colin27 slices: VLM without experts, with experts, expert alone, text-only floor; paired over seeds.")
        {
            seeds, perFamily, segmenter, vision, align, instruct, expert, atlasDir, runDir, doc, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var seedList = pr.GetValue(seeds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new InputException($"--seeds '{x}' is not an integer")).ToList();
            if (seedList.Count == 0) throw new InputException("--seeds is empty");
            var atlas = Condense.Experts.Volumes.BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            var options = new Condense.Experiments.Experts.VilaM3StudyOptions
            {
                RunRoot = pr.GetValue(runDir)!,
                Seeds = seedList,
                PerFamily = pr.GetValue(perFamily),
                Training = defaults with
                {
                    SegmenterSteps = pr.GetValue(segmenter), VisionSteps = pr.GetValue(vision), AlignSteps = pr.GetValue(align), InstructSteps = pr.GetValue(instruct), ExpertSteps = pr.GetValue(expert),
                    Progress = ProgressMode.Lines,
                },
                Log = line => Console.Error.WriteLine(line),
            };
            using var resumable = Interruption.Resumable();
            var result = Condense.Experiments.Experts.VilaM3Study.Run(atlas, options, cancellation);
            var markdown = Condense.Experiments.Experts.VilaM3Study.Markdown(result);
            if (pr.GetValue(doc) is string path) GeneratedDoc.Write(path, "vila-m3", markdown, result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>GGUF exports of the shared LLaMAs run in llama.cpp and compared with Condense (docs/export.md).</summary>
    private static Command Export()
    {
        var json = CommonOptions.Json();
        var documents = new Option<int>("--docs") { Description = "Evaluation documents for the perplexity comparison.", DefaultValueFactory = _ => 200 };
        var steps = new Option<int>("--steps") { Description = "Greedy positions per prompt.", DefaultValueFactory = _ => 200 };
        var outDir = new Option<string>("--out-dir") { Description = "Where the GGUF files go.", DefaultValueFactory = _ => Path.Combine("runs", "study-export") };
        var kvCache = new Option<string>("--kv-cache") { Description = "llama.cpp's KV cache type: f32 (isolates the weights' encoding) or f16 (llama.cpp's default).", DefaultValueFactory = _ => "f32" };
        var doc = CommonOptions.Doc("the result tables");
        var section = CommonOptions.Section();
        var cmd = new Command("export", "GGUF exports (f32, f16, q8_0) of stories260K, llama2xs and the Hugging Face stories260K run in llama.cpp: greedy tokens and PPL against Condense.")
        {
            documents, steps, outDir, kvCache, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(documents) < 1) throw new InputException($"--docs must be at least 1, got {pr.GetValue(documents)}");
            if (pr.GetValue(steps) < 20) throw new InputException($"--steps must be at least 20, got {pr.GetValue(steps)}");
            bool f32Cache = pr.GetValue(kvCache) switch
            {
                "f32" => true,
                "f16" => false,
                var other => throw new InputException($"--kv-cache '{other}': expected f32 or f16"),
            };
            TorchRuntime.EnsureLoaded();
            TorchRuntime.SetThreads(1);
            var options = new Condense.Experiments.Deployment.GgufExportStudyOptions
            {
                Models =
                [
                    ("stories260K", AssetPaths.Require(Condense.Language.LanguageModelFiles.DefaultModel)),
                    ("llama2xs", AssetPaths.Require("models/llama2c/llama2xs_tinystories.bin")),
                    ("stories260K-hf", AssetPaths.Require("models/hf/stories260K")),
                ],
                OutputDir = pr.GetValue(outDir)!,
                EvalText = AssetPaths.Require(Condense.Language.LanguageModelFiles.DefaultEvalText),
                Documents = pr.GetValue(documents),
                Steps = pr.GetValue(steps),
                F32KvCache = f32Cache,
                Log = line => Console.Error.WriteLine(line),
            };
            var result = Condense.Experiments.Deployment.GgufExportStudy.Run(options);
            var markdown = Condense.Experiments.Deployment.GgufExportStudy.Markdown(result);
            if (pr.GetValue(doc) is string path) 
            {
                var name = CommonOptions.SectionName(pr.GetValue(section), "gguf-export");
                GeneratedDoc.Write(path, name, markdown, result, jsonName: Path.Combine("results", name));
            }
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>ONNX exports of the vision backbones and distilled runs, checked and timed in ONNX Runtime (docs/export.md).</summary>
    private static Command OnnxExport()
    {
        var json = CommonOptions.Json();
        var runs = new Option<string?>("--runs") { Description = "Comma-separated `condense distill` run folders (default: runs/distill-default when it exists)." };
        var models = new Option<string?>("--models") { Description = "Registered backbones and sides, e.g. vit_base:224,fastervit_1:224:320 (default: vit_tiny, vit_small, radio_vit, fastervit_0, eradio_xxxtiny)." };
        var outDir = new Option<string>("--out-dir") { Description = "Where the ONNX files go.", DefaultValueFactory = _ => Path.Combine("runs", "study-onnx") };
        var threads = new Option<int>("--threads") { Description = "Threads of ONNX Runtime and TorchSharp.", DefaultValueFactory = _ => 1 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating timing rounds.", DefaultValueFactory = _ => 6 };
        var doc = CommonOptions.Doc("the result table");
        var section = CommonOptions.Section();
        var cmd = new Command("onnx-export", "ONNX exports of ViT, the RADIO student, FasterViT-0, E-RADIO and distilled runs in ONNX Runtime: agreement, size, speed against TorchSharp.")
        {
            models, runs, outDir, threads, rounds, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(threads) < 1) throw new InputException($"--threads must be at least 1, got {pr.GetValue(threads)}");
            if (pr.GetValue(rounds) < 2) throw new InputException($"--rounds must be at least 2, got {pr.GetValue(rounds)}");
            var runList = pr.GetValue(runs) is string r
                ? r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : Directory.Exists(Path.Combine("runs", "distill-default")) ? [Path.Combine("runs", "distill-default")] : [];
            foreach (var run in runList)
                if (!Directory.Exists(run)) throw new InputException($"--runs: {run} is not a folder");
            var options = new Condense.Experiments.Deployment.OnnxExportStudyOptions
            {
                Runs = runList,
                OutputDir = pr.GetValue(outDir)!,
                Threads = pr.GetValue(threads),
                Rounds = pr.GetValue(rounds),
                Log = line => Console.Error.WriteLine(line),
            };
            if (pr.GetValue(models) is string list) options = options with { Backbones = ParseModelSides(list) };
            var result = Condense.Experiments.Deployment.OnnxExportStudy.Run(options);
            var markdown = Condense.Experiments.Deployment.OnnxExportStudy.Markdown(result);
            if (pr.GetValue(doc) is string path)
            {
                var name = CommonOptions.SectionName(pr.GetValue(section), "onnx-export");
                GeneratedDoc.Write(path, name, markdown, result, jsonName: Path.Combine("results", name));
            }
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // "name:side[:side...],..." to (registered name, sides); unknown names and bad sides are one-line errors.
    private static IReadOnlyList<(string, int[])> ParseModelSides(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
        {
            var parts = item.Split(':');
            if (!Condense.Vision.Models.ModelRegistry.Contains(parts[0]))
                throw new InputException($"--models: unknown model '{parts[0]}' (`condense models` lists them)");
            if (parts.Length < 2 || !parts.Skip(1).All(p => int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) && v > 0))
                throw new InputException($"--models: '{item}' needs one or more positive sides, e.g. {parts[0]}:224");
            return (parts[0], parts.Skip(1).Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        })];

    private static Command HyperTrick()
    {
        var json = CommonOptions.Json();
        var envs = new Option<string>("--envs") { Description = "Comma-separated tasks (cartpole, acrobot).", DefaultValueFactory = _ => "cartpole,acrobot" };
        var methods = new Option<string>("--methods")
        {
            Description = "Semicolon-separated scheduler specs without phases (random is the budget and the reference).",
            DefaultValueFactory = _ => string.Join(';', Condense.Experiments.Search.HyperTrickStudyOptions.DefaultMethods),
        };
        var seeds = new Option<int>("--seeds") { Description = "Study seeds (pairs).", DefaultValueFactory = _ => 5 };
        var workers = new Option<int>("--workers") { Description = "Virtual workers.", DefaultValueFactory = _ => 4 };
        var trials = new Option<int>("--trials") { Description = "Trials random search runs to the end (its compute is the budget).", DefaultValueFactory = _ => 24 };
        var phases = new Option<int>("--phases") { Description = "Phases per trial.", DefaultValueFactory = _ => 9 };
        var phaseSteps = new Option<long>("--phase-steps") { Description = "Environment steps per phase.", DefaultValueFactory = _ => 20_000 };
        var heldOut = new Option<int>("--held-out-seeds") { Description = "Fresh trainings of each selected configuration.", DefaultValueFactory = _ => 3 };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (finished runs are reused).", DefaultValueFactory = _ => Path.Combine("runs", "study-hypertrick") };
        var doc = CommonOptions.Doc("the tables and plots");
        var cmd = new Command("hypertrick", "HyperTrick vs random search, ASHA, Hyperband and median stopping on A2C (CartPole, Acrobot), paired seeds, equal compute.")
        {
            envs, methods, seeds, workers, trials, phases, phaseSteps, heldOut, runDir, doc, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var options = new Condense.Experiments.Search.HyperTrickStudyOptions(
                [.. pr.GetValue(envs)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                [.. pr.GetValue(methods)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                pr.GetValue(seeds), pr.GetValue(workers), pr.GetValue(trials), pr.GetValue(phases), pr.GetValue(phaseSteps), pr.GetValue(heldOut));
            var result = Condense.Experiments.Search.HyperTrickStudy.Run(pr.GetValue(runDir)!, options, line => Console.Error.WriteLine(line), cancellation);
            var markdown = Condense.Experiments.Search.HyperTrickStudy.ToMarkdown(result);
            if (pr.GetValue(doc) is string path)
            {
                var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
                var plots = Condense.Experiments.Search.HyperTrickStudy.Plot(result, folder, Path.GetFileNameWithoutExtension(path));
                markdown += "\n" + string.Join("\n", plots.Select(p => $"![{Path.GetFileNameWithoutExtension(p)}]({Path.GetFileName(p)})")) + "\n";
                GeneratedDoc.Write(path, "hypertrick", markdown, result);
            }
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>Students (ViT, FasterViT, E-RADIO) distilled from the same teachers at an equal budget of student compute.</summary>
    private static Command Backbones()
    {
        var json = CommonOptions.Json();
        var students = new Option<string>("--students") { Description = "Comma-separated student backbones.", DefaultValueFactory = _ => string.Join(',', Condense.Experiments.Vision.BackboneBudgetStudy.DefaultStudents) };
        var budget = new Option<double>("--budget") { Description = "CPU seconds of student compute per run (steps = budget / calibrated median CPU time per step).", DefaultValueFactory = _ => 180 };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per student.", DefaultValueFactory = _ => 3 };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key for every run (repeatable)." };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-backbones") };
        var doc = CommonOptions.Doc("the tables");
        var progress = CommonOptions.Progress();
        var cmd = new Command("backbones", "Students (ViT, FasterViT, E-RADIO) distilled at an equal budget of student compute, paired on the same queries.")
        {
            students, budget, seeds, set, runDir, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(students)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var result = Condense.Experiments.Vision.BackboneBudgetStudy.Run(pr.GetValue(runDir)!, names, pr.GetValue(budget), pr.GetValue(seeds),
                pr.GetValue(set) ?? [], pr.GetValue(progress), line => Console.Error.WriteLine(line));
            var markdown = Condense.Experiments.Vision.BackboneBudgetStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path) GeneratedDoc.Write(path, "backbones-budget", markdown, result);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// RADIOv2.5's token compression for VLMs, measured: ToMe merging (bipartite to a budget and k-th destination)
    /// vs pixel-unshuffle and average pooling at 4x and 16x on a real teacher's spatial tokens (the MLPerf Tiny
    /// ResNet8 on the 499 shared CIFAR-10 images, 349 train / 150 held out): normalized reconstruction error after
    /// unmerge/upsampling and a linear probe on the compressed tokens.
    /// </summary>
    private static Command TokenCompression()
    {
        var json = CommonOptions.Json();
        var inputSize = new Option<int>("--input-size") { Description = "Teacher input size: 32 gives 8x8 tokens, 64 gives 16x16.", DefaultValueFactory = _ => 64 };
        var train = new Option<int>("--train") { Description = "Images used to fit probes and codecs (the rest are held out).", DefaultValueFactory = _ => 349 };
        var doc = new Option<string?>("--doc") { Description = "Write the table into this Markdown file (its token-compression section)." };
        var cmd = new Command("token-compression", "ToMe vs pixel-unshuffle vs average pooling at 4x and 16x on real teacher tokens.")
        {
            inputSize, train, doc, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            int size = pr.GetValue(inputSize), nTrain = pr.GetValue(train);
            var result = TokenCompressionStudy.RunOnCifar(size, nTrain);
            var table = TokenCompressionStudy.ToMarkdown(result.Rows);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(table);
            if (pr.GetValue(doc) is string path)
            {
                var section = $"token-compression-{size}";
                GeneratedDoc.Write(path, section, $"ResNet8 tokens at {size} px ({result.Grid[0]}x{result.Grid[1]} = {result.Grid[0] * result.Grid[1]} tokens):\n\n{table}",
                    result, jsonName: section);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The resolution mode-switch diagnostic (AM-RADIO section 6, RADIOv2.5): sweep the student's input resolution
    /// on a distilled checkpoint and report every adaptor's fidelity to its teacher; plot fidelity vs resolution.
    /// </summary>
    private static Command ModeSwitch()
    {
        var json = CommonOptions.Json();
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder or its model.safetensors (from condense distill)." };
        var resolutions = new Option<string>("--resolutions") { Description = "Comma-separated student resolutions.", DefaultValueFactory = _ => "16,24,32,40,48,56,64,80,96" };
        var outDir = new Option<string?>("--out") { Description = "Where the plot goes (default: <run folder>/eval)." };
        var progress = CommonOptions.Progress();
        var doc = CommonOptions.Doc("the fidelity table and the plot");
        var section = CommonOptions.Section();
        var cmd = new Command("mode-switch", "Adaptor fidelity per teacher vs student resolution on a distilled checkpoint (PNG plot).")
        {
            checkpoint, resolutions, outDir, progress, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var path = pr.GetValue(checkpoint)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new Condense.Core.InputException($"checkpoint not found: {path}");
            var list = new List<int>();
            foreach (var part in pr.GetValue(resolutions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                list.Add(int.TryParse(part, out var r) && r > 0 ? r : throw new Condense.Core.InputException($"--resolutions: '{part}' is not a positive integer"));
            var sectionName = CommonOptions.SectionName(pr.GetValue(section), "mode-switch");
            var (rows, plot) = ModeSwitchStudy.Run(path, list, pr.GetValue(outDir), pr.GetValue(progress));
            output.Result(new { plot, rows });
            var table = ModeSwitchStudy.ToMarkdown(rows, list);
            if (!output.Json)
            {
                output.Human.WriteLine(table.ToString());
                output.Human.WriteLine($"plot: {plot}");
            }
            if (pr.GetValue(doc) is string docPath)
            {
                var png = sectionName + ".png";
                File.Copy(plot, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(docPath))!, png), overwrite: true);
                GeneratedDoc.Write(docPath, sectionName, $"Fidelity = Var(teacher) / MSE of the adaptor on held-out images, the student run at each " +
                    $"resolution:\n\n{table}\n![fidelity vs resolution]({png})", new { rows }, jsonName: sectionName);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// Students distilled from each teacher alone and from all teachers, same budget, several seeds, compared in
    /// pairs on the same held-out images (McNemar, paired t interval).
    /// </summary>
    private static Command Agglomeration()
    {
        var json = CommonOptions.Json();
        var seeds = new Option<int>("--seeds") { Description = "Seeds per arm.", DefaultValueFactory = _ => 3 };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key for every run (repeatable)." };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-agglomeration") };
        var doc = new Option<string?>("--doc") { Description = "Write the tables and the command into this Markdown file, the JSON beside it." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("agglomeration", "Single-teacher students vs the all-teacher student, same budget, paired on the same queries.")
        {
            seeds, set, runDir, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var result = Condense.Experiments.Vision.AgglomerationStudy.Run(pr.GetValue(runDir)!, pr.GetValue(seeds), pr.GetValue(set) ?? [],
                pr.GetValue(progress), line => Console.Error.WriteLine(line));
            var markdown = Condense.Experiments.Vision.AgglomerationStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path) GeneratedDoc.Write(path, "agglomeration", markdown, result);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The default recipe with only the optimizer and its learning rate changed (the paper's LAMB against AdamW), several
    /// seeds, each arm paired with the recipe's own optimizer on the same held-out images.
    /// </summary>
    private static Command OptimizerArms()
    {
        var json = CommonOptions.Json();
        var arms = new Option<string>("--arms")
        {
            Description = "Comma-separated optimizer:learning_rate arms.",
            DefaultValueFactory = _ => string.Join(',', Condense.Experiments.Vision.OptimizerStudy.DefaultArms.Select(a => a.Name)),
        };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per arm.", DefaultValueFactory = _ => 3 };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key for every run (repeatable)." };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-optimizer") };
        var doc = new Option<string?>("--doc") { Description = "Write the tables and the command into this Markdown file, the JSON beside it." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("optimizer", "LAMB vs AdamW at several learning rates on the default recipe, paired on the same queries.")
        {
            arms, seeds, set, runDir, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var parsed = pr.GetValue(arms)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(a => Condense.Experiments.Vision.OptimizerArm.Parse(a, "Arms")).ToList();
            var result = Condense.Experiments.Vision.OptimizerStudy.Run(pr.GetValue(runDir)!, parsed, pr.GetValue(seeds), pr.GetValue(set) ?? [],
                pr.GetValue(progress), line => Console.Error.WriteLine(line));
            var markdown = Condense.Experiments.Vision.OptimizerStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path) GeneratedDoc.Write(path, "optimizer-arms", markdown, result, jsonName: "optimizer-arms");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Flextron's elastic run against pruning alone and against pruning and retraining each width with the same tokens.</summary>
    private static Command Flextron()
    {
        var json = CommonOptions.Json();
        var models = new Option<string?>("--models") { Description = "Comma-separated llama2.c files or HF folders (default: the shared stories260K and llama2xs_tinystories)." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per model.", DefaultValueFactory = _ => 2 };
        var steps = new Option<long>("--steps") { Description = "Elastic training steps (each retrained width gets steps / widths).", DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Windows per step.", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per window.", DefaultValueFactory = _ => 256 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of every run.", DefaultValueFactory = _ => 2e-4 };
        var widths = new Option<string>("--widths") { Description = "Uniform widths (fractions).", DefaultValueFactory = _ => "0.25,0.5,0.75,1" };
        var evalDocs = new Option<int>("--max-docs") { Description = "Evaluation documents (0 = all).", DefaultValueFactory = _ => 1000 };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-flextron") };
        var doc = new Option<string?>("--doc") { Description = "Write the tables, the plot and the command into this Markdown file, the JSON beside it." };
        var anchored = new Option<bool>("--anchored") { Description = "Also run Flextron with the full width distilled from the original model (elastic train --anchor)." };
        var subnetworks = new Option<int>("--subnetworks") { Description = "Random sub-networks per elastic step besides the full model.", DefaultValueFactory = _ => 2 };
        var fullWeight = new Option<double>("--full-weight") { Description = "Weight of the full model's loss against each random sub-network's in the elastic runs.", DefaultValueFactory = _ => 1.0 };
        var sandwich = new Option<bool>("--sandwich") { Description = "Elastic runs use the sandwich rule: the first sub-network of every step is the narrowest one." };
        var sameWidth = new Option<bool>("--same-width") { Description = "Elastic runs draw one MLP width and one head-group count for every layer of a random sub-network." };
        var queryWidths = new Option<string>("--query-widths")
        {
            Description = "Query heads per kept group the elastic runs also draw, fractions of the group's (1: whole groups only); the compared widths stay whole groups.",
            DefaultValueFactory = _ => "1",
        };
        var latencyRounds = new Option<int>("--latency-rounds") { Description = "Rounds timing each width against the full model (native engine, one thread); 0: no latency.", DefaultValueFactory = _ => 15 };
        var section = CommonOptions.Section();
        var threads = LanguageOptions.Threads();
        var progress = CommonOptions.Progress();
        var cmd = new Command("flextron", "One elastic run against pruning alone and pruning + retraining each width, equal tokens (Flextron).")
        {
            models, seeds, steps, batch, seqLen, lr, widths, evalDocs, runDir, doc, section, anchored, subnetworks, fullWeight, sandwich, sameWidth, queryWidths, latencyRounds, threads, progress, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            ElasticCommand.CheckTrainingFlags(pr.GetValue(fullWeight), pr.GetValue(sandwich), pr.GetValue(subnetworks));
            if (pr.GetValue(latencyRounds) < 0) throw new Condense.Core.InputException($"--latency-rounds {pr.GetValue(latencyRounds)}: must be 0 (no latency) or more");
            var widthList = ElasticCommand.ParseFractions(pr.GetValue(widths)!, "--widths");
            var queryList = ElasticCommand.ParseQueryWidths(pr.GetValue(queryWidths)!);
            var modelList = pr.GetValue(models) is string m
                ? m.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [Condense.Language.LanguageModelFiles.ResolveModel(null), Condense.Core.IO.AssetPaths.Require("models/llama2c/llama2xs_tinystories.bin")];
            if (pr.GetValue(subnetworks) < 1) throw new Condense.Core.InputException($"--subnetworks {pr.GetValue(subnetworks)}: an elastic step needs at least 1 random sub-network");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var result = Condense.Experiments.Language.FlextronStudy.Run(new Condense.Experiments.Language.FlextronStudyOptions
            {
                Models = modelList,
                RunDir = pr.GetValue(runDir)!, Seeds = pr.GetValue(seeds), Steps = pr.GetValue(steps), BatchSize = pr.GetValue(batch),
                SeqLen = pr.GetValue(seqLen), LearningRate = pr.GetValue(lr), Widths = widthList, EvalDocs = pr.GetValue(evalDocs),
                TrainText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultCalibrationText),
                EvalText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultEvalText),
                Progress = pr.GetValue(progress), Anchored = pr.GetValue(anchored), RandomSubnetworks = pr.GetValue(subnetworks),
                FullWeight = pr.GetValue(fullWeight), Sandwich = pr.GetValue(sandwich), SameWidthEveryLayer = pr.GetValue(sameWidth),
                QueryWidths = queryList,
                Latency = pr.GetValue(latencyRounds) == 0 ? null : new Condense.Language.Elastic.LatencyOptions { Rounds = pr.GetValue(latencyRounds) },
            }, line => Console.Error.WriteLine(line), cancellation);
            var markdown = Condense.Experiments.Language.FlextronStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path)
            {
                var name = CommonOptions.SectionName(pr.GetValue(section), "flextron-widths");
                var png = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, name == "flextron-widths" ? "flextron-ppl.png" : $"{name}.png");
                Condense.Experiments.Language.FlextronStudy.Plot(png, result);
                var figures = $"![PPL against parameters]({Path.GetFileName(png)})";
                if (result.Latency.Count > 0)
                {
                    var latencyPng = Path.ChangeExtension(png, null) + "-latency.png";
                    Condense.Experiments.Language.FlextronStudy.PlotLatency(latencyPng, result);
                    figures += $" ![PPL against measured decode latency]({Path.GetFileName(latencyPng)})";
                }
                GeneratedDoc.Write(path, name, $"{markdown}\n\n{figures}", result, jsonName: name == "flextron-widths" ? null : name);
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>Flextron's routed sub-networks against their latency targets, straight-through against soft router training.</summary>
    private static Command FlextronRouting()
    {
        var json = CommonOptions.Json();
        var model = new Option<string>("--model") { Description = "An elastic model folder (elastic/ of `elastic train`).", Required = true };
        var latency = new Option<string>("--latency") { Description = "The latency table (`elastic latency --out`), measured on this machine.", Required = true };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per variant.", DefaultValueFactory = _ => 5 };
        var firstSeed = new Option<long>("--first-seed") { Description = "The first seed (e.g. 5 with --seeds 5: seeds 5-9, to check a pick made on seeds 0-4)." };
        var variants = new Option<string[]>("--variant")
        {
            Description = "Router-training variants to run (repeatable; default all): " + string.Join("; ", Condense.Experiments.Language.FlextronRoutingStudy.Variants) + ". The first of them in that order is the paired reference.",
        };
        var budgets = new Option<string>("--budgets") { Description = "Latency budgets (fractions of the full model's).", DefaultValueFactory = _ => "0.25,0.5,0.75,1" };
        var evalDocs = new Option<int>("--max-docs") { Description = "Evaluation documents (0 = all).", DefaultValueFactory = _ => 200 };
        var rounds = new Option<int>("--rounds") { Description = "Timing rounds per evaluation (each relative to the full model's time in it).", DefaultValueFactory = _ => 15 };
        var runDir = new Option<string>("--run-dir") { Description = "Where the routed models go (reused when present).", DefaultValueFactory = _ => Path.Combine("runs", "study-flextron-routing") };
        var doc = new Option<string?>("--doc") { Description = "Write the tables, the plot and the command into this Markdown file, the JSON beside it." };
        var section = CommonOptions.Section();
        var threads = LanguageOptions.Threads();
        var cmd = new Command("flextron-routing", "Flextron's routers: routed sub-networks' measured latency against their budgets, over seeds, with the ablations of router training (soft samples, absolute loss, budgets at full).")
        {
            model, latency, seeds, firstSeed, variants, budgets, evalDocs, rounds, runDir, doc, section, threads, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(firstSeed) < 0) throw new Condense.Core.InputException($"--first-seed {pr.GetValue(firstSeed)}: must be at least 0");
            var variantList = pr.GetValue(variants) is { Length: > 0 } named ? named : null;
            foreach (var v in variantList ?? [])
                if (!Condense.Experiments.Language.FlextronRoutingStudy.Variants.Contains(v))
                    throw new Condense.Core.InputException($"--variant '{v}': not a variant (the variants: {string.Join("; ", Condense.Experiments.Language.FlextronRoutingStudy.Variants)})");
            var budgetList = pr.GetValue(budgets)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(w => double.TryParse(w, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var f) && f > 0 && f <= 1
                    ? f : throw new Condense.Core.InputException($"--budgets '{w}': each budget must be a number in (0, 1]")).ToList();
            if (pr.GetValue(rounds) < 1) throw new Condense.Core.InputException($"--rounds {pr.GetValue(rounds)}: must be at least 1");
            var name = CommonOptions.SectionName(pr.GetValue(section), "flextron-routing");   // checked before the hours of work
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var result = Condense.Experiments.Language.FlextronRoutingStudy.Run(new Condense.Experiments.Language.FlextronRoutingStudyOptions
            {
                ElasticDir = pr.GetValue(model)!, LatencyPath = pr.GetValue(latency)!, RunDir = pr.GetValue(runDir)!, Seeds = pr.GetValue(seeds),
                FirstSeed = pr.GetValue(firstSeed), Variants = variantList,
                Budgets = budgetList, EvalDocs = pr.GetValue(evalDocs), TimingRounds = pr.GetValue(rounds),
                TrainText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultCalibrationText),
                EvalText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultEvalText),
            }, line => Console.Error.WriteLine(line));
            var markdown = Condense.Experiments.Language.FlextronRoutingStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path)
            {
                var png = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $"{name}.png");
                Condense.Experiments.Language.FlextronRoutingStudy.Plot(png, result);
                GeneratedDoc.Write(path, name, $"{markdown}\n\n![PPL against measured decode latency]({name}.png)", result, jsonName: name);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Flextron's settings re-scored on two splits of the evaluation text: picked on one, reported on the other.</summary>
    private static Command FlextronHeldOut()
    {
        var json = CommonOptions.Json();
        var model = new Option<string?>("--model") { Description = "The model the runs started from (names its folder in each run folder; default: the shared stories260K)." };
        var settings = new Option<string[]>("--setting") { Description = "LABEL=RUN_DIR: a run folder of `study flextron` (repeatable; anchored runs in it count as a second setting).", Required = true };
        var baseline = new Option<string?>("--baseline-run-dir") { Description = "Run folder whose retrained widths are the baseline (default: the first setting's)." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds (each run folder needs them all).", DefaultValueFactory = _ => 3 };
        var widths = new Option<string>("--widths") { Description = "Uniform widths (fractions).", DefaultValueFactory = _ => "0.25,0.5,0.75,1" };
        var selectionDocs = new Option<int>("--selection-docs") { Description = "The first N evaluation documents: the split settings are picked on.", DefaultValueFactory = _ => 1000 };
        var reportDocs = new Option<int>("--report-docs") { Description = "Documents after those that form the report split (0 = all the rest).", DefaultValueFactory = _ => 0 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest gap to the retrained width that counts as within target.", DefaultValueFactory = _ => 0.05 };
        var doc = new Option<string?>("--doc") { Description = "Write the tables and the command into this Markdown file, the JSON beside it." };
        var section = CommonOptions.Section();
        var threads = LanguageOptions.Threads();
        var cmd = new Command("flextron-held-out", "Flextron's elastic-training settings: picked on the evaluation documents the tables used, reported on documents after them.")
        {
            model, settings, baseline, seeds, widths, selectionDocs, reportDocs, tolerance, doc, section, threads, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var settingList = pr.GetValue(settings)!.Select(s =>
            {
                int eq = s.IndexOf('=', StringComparison.Ordinal);
                return eq > 0 && eq < s.Length - 1
                    ? new Condense.Experiments.Language.FlextronSetting(s[..eq].Trim(), s[(eq + 1)..].Trim())
                    : throw new Condense.Core.InputException($"--setting '{s}': expected LABEL=RUN_DIR");
            }).ToList();
            var widthList = ElasticCommand.ParseFractions(pr.GetValue(widths)!, "--widths");
            if (pr.GetValue(seeds) < 1) throw new Condense.Core.InputException($"--seeds {pr.GetValue(seeds)}: must be at least 1");
            if (pr.GetValue(selectionDocs) < 1) throw new Condense.Core.InputException($"--selection-docs {pr.GetValue(selectionDocs)}: must be at least 1");
            if (pr.GetValue(reportDocs) < 0) throw new Condense.Core.InputException($"--report-docs {pr.GetValue(reportDocs)}: must be 0 (all the rest) or more");
            if (!(pr.GetValue(tolerance) > 0)) throw new Condense.Core.InputException($"--tolerance {pr.GetValue(tolerance)}: must be positive");
            var name = CommonOptions.SectionName(pr.GetValue(section), "flextron-held-out");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var result = Condense.Experiments.Language.FlextronHeldOutStudy.Run(new Condense.Experiments.Language.FlextronHeldOutOptions
            {
                Model = Condense.Language.LanguageModelFiles.ResolveModel(pr.GetValue(model)), Settings = settingList, BaselineRunDir = pr.GetValue(baseline),
                Seeds = pr.GetValue(seeds), Widths = widthList, SelectionDocs = pr.GetValue(selectionDocs), ReportDocs = pr.GetValue(reportDocs),
                Tolerance = pr.GetValue(tolerance),
                EvalText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultEvalText),
            }, line => Console.Error.WriteLine(line), cancellation);
            var markdown = Condense.Experiments.Language.FlextronHeldOutStudy.ToMarkdown(result);
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path) GeneratedDoc.Write(path, name, markdown, result, jsonName: name);
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>MaskLLM's gap ratio (vs SparseGPT) over several seeds of the sparsify pipeline.</summary>
    private static Command MaskLlmSeeds()
    {
        var json = CommonOptions.Json();
        var model = LanguageOptions.Model();
        var tokenizer = LanguageOptions.Tokenizer();
        var seeds = new Option<int>("--seeds") { Description = "Seeds (each draws its own calibration windows, gates and noise).", DefaultValueFactory = _ => 3 };
        var steps = new Option<long>("--steps") { Description = "MaskLLM steps.", DefaultValueFactory = _ => 200 };
        var evalDocs = new Option<int>("--eval-docs") { Description = "Evaluate on the first N documents (0: all)." };
        var outDir = new Option<string>("--out") { Description = "Output folder (one sparsify run per seed).", DefaultValueFactory = _ => Path.Combine("runs", "study-maskllm-seeds") };
        var threads = LanguageOptions.Threads();
        var doc = new Option<string?>("--doc") { Description = "Write the table and the command into this Markdown file, the JSON beside it." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("maskllm-seeds", "MaskLLM's perplexity gap over SparseGPT's, several seeds, mean and std (target: at most 0.5).")
        {
            model, tokenizer, seeds, steps, evalDocs, outDir, threads, doc, progress, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var modelPath = Condense.Language.LanguageModelFiles.ResolveModel(pr.GetValue(model));
            if (pr.GetValue(steps) < 1) throw new Condense.Core.InputException($"--steps {pr.GetValue(steps)}: must be at least 1");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var options = new Condense.Language.Sparsity.SparsifyOptions
            {
                ModelPath = modelPath,
                TokenizerPath = pr.GetValue(tokenizer),
                OutDir = pr.GetValue(outDir)!,
                Methods = ["sparsegpt", "maskllm"],
                CalibrationText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultCalibrationText),
                EvalText = Condense.Language.LanguageModelFiles.Resolve(null, Condense.Language.LanguageModelFiles.DefaultEvalText),
                EvalDocs = pr.GetValue(evalDocs),
                Progress = pr.GetValue(progress),
                MaskLlm = new Condense.Language.Sparsity.MaskLlmOptions { RunDir = "", Steps = pr.GetValue(steps) },
            };
            using var resumable = Interruption.Resumable();   // Ctrl+C / SIGTERM: checkpoint, then exit 1
            var result = Condense.Experiments.Language.MaskLlmSeedStudy.Run(options, pr.GetValue(seeds), line => Console.Error.WriteLine(line), cancellation);
            string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
            var table = new MarkdownTable("seed", "dense PPL", "SparseGPT PPL", "MaskLLM PPL", "MaskLLM gap / SparseGPT gap");
            foreach (var r in result.Seeds) table.AddRow(r.Seed, F(r.DensePpl), F(r.SparseGptPpl), F(r.MaskLlmPpl), F(r.GapRatio));
            var markdown = $"{table}\nGap ratio over {result.Seeds.Count} seeds: **{F(result.MeanGapRatio)} ± {F(result.StdGapRatio)}** " +
                $"(mean ± sample std); target ≤ {result.Target.ToString(CultureInfo.InvariantCulture)}: " +
                $"{(result.TargetMetOnAverage ? "met on average" : "not met on average")}, {result.SeedsMeetingTarget} of {result.Seeds.Count} seeds meet it. " +
                $"{result.TrainingTokens:N0} training tokens per seed ({result.Steps} steps), {(result.EvalDocuments > 0 ? $"{result.EvalDocuments} evaluation documents" : "all evaluation documents")}.";
            output.Result(result);
            if (!output.Json) output.Human.WriteLine(markdown);
            if (pr.GetValue(doc) is string path)
            {
                var section = "maskllm-seeds-" + Condense.Language.LanguageModelFiles.ModelName(modelPath);
                GeneratedDoc.Write(path, section, markdown, result, jsonName: section);
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    /// <summary>
    /// The PHI-S reproduction study: the same student under each feature-target treatment (raw MSE, cosine,
    /// hybrids, standardizations, whitenings, PHI-S), several seeds each, ranked across metrics with ties.
    /// </summary>
    private static Command PhiS()
    {
        var json = CommonOptions.Json();
        var seeds = new Option<int>("--seeds") { Description = "Seeds per arm.", DefaultValueFactory = _ => 5 };
        var arms = new Option<string?>("--arms") { Description = "Comma-separated arms (default: all ten)." };
        var teachers = new Option<string?>("--teachers") { Description = "Comma-separated teacher names of the default recipe (default: all)." };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key for every run (repeatable)." };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-phi-s") };
        var doc = new Option<string?>("--doc") { Description = "Write the table, the plot and the command into this Markdown file." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("phi-s", "Train the same student under each feature normalizer (PHI-S paper Table 1) and rank them.")
        {
            seeds, arms, teachers, set, runDir, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            static IReadOnlyList<string>? List(string? s) => s?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var result = Condense.Experiments.Vision.PhiSStudy.Run(pr.GetValue(runDir)!, pr.GetValue(seeds), pr.GetValue(set) ?? [],
                List(pr.GetValue(arms)), List(pr.GetValue(teachers)), pr.GetValue(progress), line => Console.Error.WriteLine(line));
            var table = Condense.Experiments.Vision.PhiSStudy.ToMarkdown(result.Arms);
            var paired = Condense.Experiments.Vision.PhiSStudy.PairedToMarkdown(result.VsPhiS);
            var plot = Path.Combine(pr.GetValue(runDir)!, "phi-s-ranks.png");
            Condense.Experiments.Vision.PhiSStudy.Plot(plot, result.Arms);
            var raw = new
            {
                plot = Path.GetFullPath(plot),
                arms = result.Arms.Select(a => new { arm = a.Name, average_rank = a.AverageRank, metrics = a.Metrics }),
                vs_phi_s = result.VsPhiS,
            };
            output.Result(raw);
            if (!output.Json) output.Human.WriteLine(table + "\n" + paired);
            if (pr.GetValue(doc) is string path)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
                File.Copy(plot, Path.Combine(dir, "phi-s-ranks.png"), overwrite: true);
                GeneratedDoc.Write(path, "phi-s-table", $"{table}\n\nPaired by seed against PHI-S (arm − PHI-S; kNN/probe in points, MSE in " +
                    $"teacher units; 95% t interval; tie when it holds 0):\n\n{paired}\n\n![average rank per arm](phi-s-ranks.png)", raw);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
    /// <summary>
    /// RADIOv2.5's mosaic augmentation measured: teacher cost per student image with and without k×k mosaic, tile
    /// features vs the teacher on each image alone, and the fidelity/kNN a student distilled from each reaches.
    /// </summary>
    private static Command MosaicCommand()
    {
        var json = CommonOptions.Json();
        var canvas = new Option<int>("--canvas") { Description = "The high-resolution teacher's canvas (px).", DefaultValueFactory = _ => 256 };
        var tiles = new Option<string>("--tiles") { Description = "Comma-separated tiles per side (1 = no mosaic).", DefaultValueFactory = _ => "1,2,4" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per arm.", DefaultValueFactory = _ => 3 };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key for every run (repeatable)." };
        var runDir = new Option<string>("--run-dir") { Description = "Where the runs go (resumable).", DefaultValueFactory = _ => Path.Combine("runs", "study-mosaic") };
        var doc = new Option<string?>("--doc") { Description = "Write the tables, the plot and the command into this Markdown file." };
        var progress = CommonOptions.Progress();
        var cmd = new Command("mosaic", "Teacher cost per sample and student fidelity with and without k x k mosaic (RADIOv2.5).")
        {
            canvas, tiles, seeds, set, runDir, doc, progress, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var list = new List<int>();
            foreach (var part in pr.GetValue(tiles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                list.Add(int.TryParse(part, out var k) && k > 0 ? k : throw new Condense.Core.InputException($"--tiles: '{part}' is not a positive integer"));
            int c = pr.GetValue(canvas);
            if (c <= 0) throw new Condense.Core.InputException($"--canvas {c}: must be positive");
            var result = Condense.Experiments.Vision.MosaicStudy.Run(pr.GetValue(runDir)!, c, list, pr.GetValue(seeds), pr.GetValue(set) ?? [],
                pr.GetValue(progress), line => Console.Error.WriteLine(line));
            var tables = Condense.Experiments.Vision.MosaicStudy.ToMarkdown(result);
            var plot = Path.Combine(pr.GetValue(runDir)!, "mosaic-cost.png");
            Condense.Experiments.Vision.MosaicStudy.Plot(plot, result);
            var raw = new { plot = Path.GetFullPath(plot), canvas = result.Canvas, cost = result.Cost, arms = result.Arms };
            output.Result(raw);
            if (!output.Json) output.Human.WriteLine(tables);
            if (pr.GetValue(doc) is string path)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
                File.Copy(plot, Path.Combine(dir, "mosaic-cost.png"), overwrite: true);
                GeneratedDoc.Write(path, "mosaic-tables", $"{tables}\n\n![teacher cost per image](mosaic-cost.png)", raw);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
