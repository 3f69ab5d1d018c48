// The resolution mode-switch diagnostic (AM-RADIO section 6, RADIOv2.5): sweep a distilled student's input
// resolution and report every adaptor's fidelity to its teacher, as rows and a PNG plot (log scale).
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Vision.Distillation;

namespace Condense.Experiments.Vision;

/// <summary>The resolution mode-switch diagnostic: a distilled student's fidelity to each teacher across input resolutions.</summary>
public static class ModeSwitchStudy
{
    /// <summary>
    /// Fidelity per teacher output at each resolution of <paramref name="resolutions"/> on a saved student; the plot goes
    /// to plots/mode_switch.png in <paramref name="outputDir"/> (default: the run folder's eval/).
    /// </summary>
    public static (List<ModeSwitchRow> Rows, string PlotPath) Run(string checkpoint, IReadOnlyList<int> resolutions, string? outputDir, ProgressMode progress)
    {
        var (model, session, data, _, path) = Distiller.Load(checkpoint, progress);
        using (session)
        {
            var dir = outputDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "eval");
            var rows = DistillEvaluator.ModeSwitch(model, session, data, resolutions);
            var plot = Path.Combine(dir, "plots", "mode_switch.png");
            var series = rows.GroupBy(r => $"{r.Teacher} {r.Output}")
                .Select(g => new PlotSeries(g.Key, g.Select(r => (double)r.Resolution).ToList(), g.Select(r => r.Fidelity).ToList()))
                .ToList();
            Plots.LineChart(plot, "Adaptor fidelity vs student resolution (mode switch)", "student input resolution (px)",
                "fidelity = Var(teacher) / MSE", series, logY: true);
            return (rows, plot);
        }
    }

    /// <summary>Fidelity table: one row per teacher output, one column per resolution.</summary>
    public static string ToMarkdown(IReadOnlyList<ModeSwitchRow> rows, IReadOnlyList<int> resolutions)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(resolutions);
        var table = new MarkdownTable(["teacher / output", .. resolutions.Select(r => $"{r} px")]) { DoubleFormat = "F2" };
        foreach (var g in rows.GroupBy(r => $"{r.Teacher} {r.Output}"))
            table.AddRow([g.Key, .. g.Select(r => (object)r.Fidelity)]);
        return table.ToString();
    }
}
