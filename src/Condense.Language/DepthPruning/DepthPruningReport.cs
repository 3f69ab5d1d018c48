// The run's human outputs: the sensitivity plot (every metric per unit, each scaled by its largest magnitude so
// all fit one axis), the pruning-curve plot (PPL vs units removed, one line per metric, log scale) and report.md.
using System.Globalization;
using Condense.Core.Reports;

namespace Condense.Language.DepthPruning;

/// <summary>Writes the plots and the Markdown report of a depth-pruning run.</summary>
public static class DepthPruningReport
{
    /// <summary>Writes the sensitivity plot, the pruning-curve plot and report.md to the paths named in <paramref name="r"/>.</summary>
    public static void Write(DepthPruningResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var x = Enumerable.Range(0, r.UnitNames.Count).Select(i => (double)i).ToArray();
        var metrics = r.UnitMetrics.Count > 0 ? r.UnitMetrics[0].Importance.Keys.ToList() : [];
        var series = metrics.Select(m =>
        {
            var v = r.UnitMetrics.Select(u => u.Importance[m] ?? double.NaN).ToArray();
            double scale = v.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
            return new PlotSeries(m, x, [.. v.Select(y => scale > 0 ? y / scale : y)]);
        }).ToList();
        Plots.LineChart(r.SensitivityPlot, $"Unit importance ({string.Join(" ", r.UnitNames.Take(4))} ...; low = prunable)",
            "unit index (forward order)", "importance / max |importance|", series, width: 1000, height: 550);
        var curves = r.PruningCurve.Select(c => new PlotSeries(c.Metric,
            [.. Enumerable.Range(0, c.Perplexity.Count).Select(i => (double)i)],
            [.. c.Perplexity.Select(p => p ?? double.NaN)])).ToList();
        Plots.LineChart(r.CurvePlot, "Perplexity vs units removed (one-shot order per metric, plain skip)",
            "units removed", "perplexity", curves, logY: true, width: 1000, height: 550);

        Build(r, images: true, level: 2).Save(r.Report);
    }

    /// <summary>The report's summary and tables without the title and plots, headings at level 3: a results-doc section.</summary>
    public static string Tables(DepthPruningResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Build(r, images: false, level: 3).ToString();
    }

    private static MarkdownReport Build(DepthPruningResult r, bool images, int level)
    {
        var metrics = r.UnitMetrics.Count > 0 ? r.UnitMetrics[0].Importance.Keys.ToList() : [];
        var report = new MarkdownReport();
        if (images) report.Heading(1, "Depth pruning");
        report.Paragraph($"Model `{r.Model}`, units: {r.Units}, chosen metric: {r.Metric}" +
                (r.Iterative ? " (iterative re-estimation)" : " (one-shot)") +
                $", removed: {(r.Removed.Count > 0 ? string.Join(", ", r.Removed) : "nothing")}, recovery: {r.Recovery}. " +
                $"Calibration: {r.CalibrationTokens} tokens; evaluation: {r.EvalDocuments} documents, {r.EvalTokens} predicted tokens.");
        void Image(string alt, string path)
        {
            if (images) report.Image(alt, Path.GetFileName(path));
        }

        var values = new MarkdownTable(["value function", "v(all)", "v(none)"]) { DoubleFormat = "G5" };
        for (int i = 0; i < r.ValueNames.Count; i++) values.AddRow(r.ValueNames[i], r.VAll[i], r.VNone[i]);
        report.Heading(level, "Value functions").Table(values);

        var units = new MarkdownTable(["unit", .. metrics]) { DoubleFormat = "G4" };
        foreach (var u in r.UnitMetrics) units.AddRow([u.Unit, .. metrics.Select(m => (object?)u.Importance[m])]);
        report.Heading(level, "Importance per unit (low = prunable)").Table(units);
        Image("sensitivity", r.SensitivityPlot);

        var se = r.Estimates.FirstOrDefault(e => e.Estimator.StartsWith("permutation", StringComparison.Ordinal) && e.Value == "loss");
        var exact = r.Estimates.FirstOrDefault(e => e.Estimator == "exact_shapley" && e.Value == "loss");
        if (se is not null)
        {
            var mc = new MarkdownTable(["unit", "exact φ(loss)", $"{se.Estimator} φ(loss)", "SE"]) { DoubleFormat = "G4" };
            for (int i = 0; i < r.UnitNames.Count; i++) mc.AddRow(r.UnitNames[i], exact?.Phi[i], se.Phi[i], se.StandardError[i]);
            report.Heading(level, "Monte-Carlo Shapley vs exact (loss)").Table(mc);
        }
        if (r.EstimatorComparison.Count > 0)
        {
            var cmp = new MarkdownTable(["metric", "vs exact", "Spearman ρ", "mean |error|"]) { DoubleFormat = "G3" };
            foreach (var c in r.EstimatorComparison) cmp.AddRow(c.Metric, c.Reference, c.Spearman, c.MeanAbsError);
            report.Heading(level, "Estimators vs exact Shapley").Table(cmp);
        }

        if (r.PruningCurve.Count > 0)
        {
            int points = r.PruningCurve.Max(c => c.Perplexity.Count);
            var curve = new MarkdownTable(["metric", "order", .. Enumerable.Range(0, points).Select(k => $"PPL -{k}")]) { DoubleFormat = "G4" };
            foreach (var c in r.PruningCurve)
                curve.AddRow([c.Metric, string.Join(" ", c.Order), .. Enumerable.Range(0, points).Select(k => (object?)(k < c.Perplexity.Count ? c.Perplexity[k] : null))]);
            var task = new MarkdownTable(["metric", .. Enumerable.Range(0, points).Select(k => $"dlg/nar -{k}")]);
            foreach (var c in r.PruningCurve)
                task.AddRow([c.Metric, .. Enumerable.Range(0, points).Select(k => (object?)(k < c.Perplexity.Count
                    ? string.Create(CultureInfo.InvariantCulture, $"{c.DialogueAccuracy[k]:F3}/{c.NarrativeAccuracy[k]:F3}") : null))]);
            report.Heading(level, "Pruning curves").Table(curve);
            Image("pruning curve", r.CurvePlot);
            report.Paragraph("Next-token accuracy on dialogue / narrative targets along the same orders:").Table(task);
        }
        if (r.SelectedOrders.Count > 0)
        {
            var sel = new MarkdownTable(["removed", "order picked on the selection split", "selection PPL", "evaluation PPL",
                "oracle on the evaluation split (biased)", "oracle PPL"]) { DoubleFormat = "G4" };
            foreach (var o in r.SelectedOrders)
                sel.AddRow(o.Removed, o.Metric, o.SelectionPerplexity, o.EvaluationPerplexity, o.OracleMetric, o.OraclePerplexity);
            report.Heading(level, "Best order per count, selected on a separate split").Table(sel);
        }

        if (r.RecoveryResults.Count > 0)
        {
            var rec = new MarkdownTable(["recovery", "PPL", "loss", "dialogue acc", "narrative acc"]) { DoubleFormat = "G4" };
            foreach (var x2 in r.RecoveryResults) rec.AddRow(x2.Recovery, x2.Perplexity, x2.Loss, x2.DialogueAccuracy, x2.NarrativeAccuracy);
            report.Heading(level, "Pruned model").Table(rec);
        }
        if (r.SingleUnitRecovery.Count > 0)
        {
            var single = new MarkdownTable(["unit removed alone", "PPL skip", "PPL mean-bias", "PPL adapter"]) { DoubleFormat = "G4" };
            foreach (var s in r.SingleUnitRecovery) single.AddRow(s.Unit, s.None, s.MeanBias, s.Adapter);
            report.Heading(level, "Recovery per unit").Table(single);
        }
        if (r.KvCache.Count > 0)
        {
            var kv = new MarkdownTable(["model", "layers with KV cache", "KV bytes (1 x max seq)", "generated", "tokens/s"]) { DoubleFormat = "G4" };
            foreach (var k in r.KvCache) kv.AddRow(k.Model, k.CachedLayers, k.CacheBytes, k.GeneratedTokens, k.TokensPerSecond);
            report.Heading(level, "KV cache and decoding").Table(kv);
        }
        return report;
    }
}
