using System.CommandLine;
using System.Globalization;
using Condense.Core.Runtime;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Inference;
using Condense.Experts.Training;
using Condense.Experts.Volumes;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense vlm</c>: VILA-M3 at CPU scale on the Colin27 brain MRI. <c>train</c> runs the four stages (resumable);
/// <c>eval</c> answers held-out questions with and without experts; <c>ask</c> asks one question about one slice.
/// </summary>
internal static class VlmCommand
{
    public const string DefaultRunDir = "runs/vlm";

    public static Command Create()
    {
        var cmd = new Command("vlm", "A small medical VLM that calls expert models (VILA-M3), on the Colin27 brain MRI and the AAL atlas.");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Eval());
        cmd.Subcommands.Add(Ask());
        return cmd;
    }

    internal static Option<string?> AtlasDir() =>
        new("--atlas-dir") { Description = $"Folder with ch2.nii.gz, aal.nii.gz and aal.nii.txt (default: {BrainAtlas.DebianDirectory}, Debian package mricron-data)." };

    internal static Option<string[]> ExpertConfigs() =>
        new("--expert-config") { Description = "An ONNX classifier expert's JSON config (name, model, labels, size, ...); repeatable. Its model card is offered too.", AllowMultipleArgumentsPerToken = false };

    /// <summary>The run's experts plus the user's ONNX classifiers.</summary>
    internal static ExpertSet Experts(TrainedVlm vlm, string[]? configs) =>
        configs is null || configs.Length == 0 ? vlm.Experts
            : new ExpertSet([.. vlm.Experts.Experts, .. configs.Select(OnnxClassifierExpert.Load)]);

    internal static Option<string> RunDir() =>
        new("--run") { Description = "The VLM run folder.", DefaultValueFactory = _ => DefaultRunDir };

    private static Command Train()
    {
        var json = CommonOptions.Json();
        var progress = CommonOptions.Progress();
        var run = RunDir();
        var atlasDir = AtlasDir();
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation and data." };
        var batch = new Option<int>("--batch-size") { Description = "Conversations per step.", DefaultValueFactory = _ => 16 };
        var segmenter = new Option<long>("--segmenter-steps") { Description = "Stage 0 (the learned segmentation expert) steps.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.SegmenterSteps };
        var vision = new Option<long>("--vision-steps") { Description = "Stage 1 (vision pre-training) steps.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.VisionSteps };
        var align = new Option<long>("--align-steps") { Description = "Stage 2 (alignment) steps.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.AlignSteps };
        var instruct = new Option<long>("--instruct-steps") { Description = "Stage 3 (instruction fine-tuning) steps.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.InstructSteps };
        var expert = new Option<long>("--expert-steps") { Description = "Stage 4 (expert-guided instruction fine-tuning) steps.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.ExpertSteps };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of each stage.", DefaultValueFactory = _ => new VlmTrainOptions { RunDir = "" }.LearningRate };
        var textOnly = new Option<bool>("--text-only") { Description = "Train the text-only floor instead (no image, no experts)." };
        var cmd = new Command("train", "Train the VLM's four stages (vision pre-training, alignment, instruction, expert-guided instruction); resumes an interrupted run.")
        {
            run, atlasDir, seed, batch, segmenter, vision, align, instruct, expert, lr, textOnly, progress, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var atlas = BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            var options = new VlmTrainOptions
            {
                RunDir = pr.GetValue(run)!,
                Seed = pr.GetValue(seed),
                BatchSize = pr.GetValue(batch),
                SegmenterSteps = pr.GetValue(segmenter),
                VisionSteps = pr.GetValue(vision),
                AlignSteps = pr.GetValue(align),
                InstructSteps = pr.GetValue(instruct),
                ExpertSteps = pr.GetValue(expert),
                LearningRate = pr.GetValue(lr),
                TextOnly = pr.GetValue(textOnly),
                Progress = pr.GetValue(progress),
            };
            using var resumable = Interruption.Resumable();
            var result = VlmTraining.Train(atlas, options, cancellation);
            output.Result(new
            {
                run = Path.GetFullPath(result.RunDir),
                model = Path.GetFullPath(result.ModelPath),
                stages = result.Stages.Select(s => new { name = s.Name, steps = s.Steps, final_loss = s.FinalLoss, seconds = s.Seconds }),
                seconds = result.Seconds,
            });
            if (!output.Json)
            {
                foreach (var s in result.Stages)
                    output.Human.MarkupLine(Markup.Escape(FormattableString.Invariant($"{s.Name}: {s.Steps} steps, final loss {s.FinalLoss:F3}, {s.Seconds:F0} s")));
                output.Human.MarkupLine(Markup.Escape($"VLM: {result.ModelPath} ({result.Seconds:F0} s)"));
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    private static Command Eval()
    {
        var json = CommonOptions.Json();
        var run = RunDir();
        var floor = new Option<string?>("--text-only-run") { Description = "A text-only floor run (vlm train --text-only) to score too." };
        var atlasDir = AtlasDir();
        var perFamily = new Option<int>("--per-family") { Description = "Held-out questions per family.", DefaultValueFactory = _ => 50 };
        var seed = new Option<ulong>("--question-seed") { Description = "Seed of the held-out question set.", DefaultValueFactory = _ => 20241118 };
        var cmd = new Command("eval", "Answer held-out questions without experts, with experts, by the expert alone and (optionally) by the text-only floor.")
        {
            run, floor, atlasDir, perFamily, seed, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var atlas = BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            using var vlm = VlmFiles.Load(pr.GetValue(run)!);
            using var textOnly = pr.GetValue(floor) is { } f ? VlmFiles.Load(f) : null;
            var split = new BrainSplit(atlas, [SlicePlane.Axial, SlicePlane.Coronal]);
            var questions = VlmEvaluation.Questions(atlas, split, pr.GetValue(perFamily), pr.GetValue(seed), new AugmentOptions());
            var outcomes = VlmEvaluation.Run(vlm, textOnly, atlas, vlm.Experts, questions);
            var summary = VlmScores.Summarize(outcomes);
            output.Result(summary);
            if (!output.Json)
            {
                var table = new Table().AddColumns("family", "n", "VLM", "VLM + expert", "expert alone", "text only");
                foreach (var row in summary.Rows)
                    table.AddRow(row.Family, row.Questions.ToString(CultureInfo.InvariantCulture), Pct(row.Vlm), Pct(row.VlmWithExperts), Pct(row.ExpertAlone), Pct(row.TextOnly));
                output.Human.Write(table);
                output.Human.MarkupLine(Markup.Escape(FormattableString.Invariant(
                    $"trigger precision {summary.TriggerPrecision:P1}, recall {summary.TriggerRecall:P1}, exact arguments {summary.TriggerExactArguments:P1}")));
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static string Pct(double? v) => v is { } x ? x.ToString("P1", CultureInfo.InvariantCulture) : "-";

    private static Command Ask()
    {
        var json = CommonOptions.Json();
        var run = RunDir();
        var atlasDir = AtlasDir();
        var plane = new Option<SlicePlane>("--plane") { Description = "Slice plane.", DefaultValueFactory = _ => SlicePlane.Axial };
        var index = new Option<int>("--slice") { Description = "Slice index along the plane's axis.", DefaultValueFactory = _ => 90 };
        var point = new Option<string?>("--point") { Description = "Marked voxel 'i,j,k' (drawn as a point on the image)." };
        var area = new Option<string?>("--area") { Description = "Marked square centred at voxel 'i,j,k' (drawn as a square)." };
        var question = new Option<string>("--question") { Description = "The question.", Required = true };
        var noExperts = new Option<bool>("--no-experts") { Description = "Do not offer the experts (the VLM answers alone)." };
        var configs = ExpertConfigs();
        var cmd = new Command("ask", "Ask the VLM one question about one slice of the brain; it may call an expert.")
        {
            run, atlasDir, plane, index, point, area, question, noExperts, configs, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var atlas = BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            using var vlm = VlmFiles.Load(pr.GetValue(run)!);
            var view = new SliceView(pr.GetValue(plane), pr.GetValue(index));
            var marker = VlmSession.ParseMarker(pr.GetValue(point), pr.GetValue(area), view, atlas);
            var session = new VlmSession(vlm, atlas, Experts(vlm, pr.GetValue(configs)));
            var result = session.Ask(view, marker, pr.GetValue(question)!, !pr.GetValue(noExperts),
                output.Json ? null : text => output.Human.Write(new Text(text)));
            if (!output.Json) output.Human.WriteLine();
            output.Result(new
            {
                first_reply = result.FirstReply,
                trigger = result.Trigger?.ToString(),
                expert = result.Expert?.Text,
                error = result.Error,
                answer = result.Answer,
            });
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
