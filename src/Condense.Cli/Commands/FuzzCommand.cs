using System.CommandLine;
using System.Globalization;
using Condense.Core.Runtime;
using Condense.Experiments.Reliability;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense fuzz</c>: seeded, bounded fuzz cases over every input file Condense reads (safetensors, llama2.c,
/// tokenizer, config.json, Hugging Face weights, recipes); exit 1 when any case ends in an internal error, an unclear
/// message or a hang. The test suite runs a few hundred cases; thousands run on demand.
/// </summary>
internal static class FuzzCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var cases = new Option<int>("--cases") { Description = "Cases in all, spread over the targets.", DefaultValueFactory = _ => 300 };
        var seed = new Option<int>("--seed") { Description = "Campaign seed; a case is reproduced by --seed, its target and its index." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated targets (default: all): safetensors, llama2c, tokenizer, config, hf-weights, recipe." };
        var timeout = new Option<double>("--case-timeout") { Description = "Seconds after which a case counts as a hang.", DefaultValueFactory = _ => 30 };
        var keep = new Option<string?>("--keep-failures") { Description = "Copy each failing case's input into this folder." };
        var verbose = new Option<bool>("--verbose") { Description = "One line per case: its mutation, outcome and message." };
        var cmd = new Command("fuzz", "Fuzz every input file Condense reads; report internal errors, unclear messages and hangs.")
            { cases, seed, targets, timeout, keep, verbose, json };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var names = pr.GetValue(targets)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            TorchRuntime.EnsureLoaded();
            int done = 0;
            var report = FuzzCampaign.Run(new FuzzOptions(pr.GetValue(cases), pr.GetValue(seed), names, pr.GetValue(timeout), pr.GetValue(keep)),
                c =>
                {
                    done++;
                    if (pr.GetValue(verbose) || c.Outcome is not (FuzzOutcome.Accepted or FuzzOutcome.Rejected))
                        output.Human.MarkupLine(Markup.Escape($"[fuzz] {c.Target} case {c.Index} ({c.Mutation}): {c.Outcome}: {c.Message}"));
                    else if (done % 100 == 0)
                        output.Human.MarkupLine(Markup.Escape($"[fuzz] {done} cases"));
                });
            output.Result(new
            {
                seed = report.Seed,
                cases = report.Cases,
                seconds = report.Seconds,
                failures = report.FailureCount,
                targets = report.Targets.Select(t => new { target = t.Target, cases = t.Cases, accepted = t.Accepted, rejected = t.Rejected, failures = t.Failures, max_seconds = t.MaxSeconds }),
                failing_cases = report.Failures.Select(c => new { target = c.Target, index = c.Index, mutation = c.Mutation, outcome = c.Outcome.ToString(), message = c.Message }),
            });
            if (!output.Json)
            {
                var table = new Table().AddColumns("target", "cases", "accepted", "rejected (one line)", "failures", "slowest case (s)");
                foreach (var t in report.Targets)
                    table.AddRow(t.Target, I(t.Cases), I(t.Accepted), I(t.Rejected), I(t.Failures), t.MaxSeconds.ToString("F2", CultureInfo.InvariantCulture));
                output.Human.Write(table);
                output.Human.MarkupLine(Markup.Escape($"{report.Cases} cases, seed {report.Seed}, {report.FailureCount} failures, {report.Seconds:F1} s"));
            }
            return report.FailureCount == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return cmd;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
