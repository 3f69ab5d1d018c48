using System.Globalization;
using Condense.Core.Reports;
using Condense.Vision.Radio;

namespace Condense.Vision.Distillation;

/// <summary>The Markdown report of a distillation run: tables, loss curves, the PCA figure and the recipe.</summary>
public static class DistillReport
{
    private static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture);
    private static string G(double v) => double.IsNaN(v) ? "-" : v.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>The result tables alone (kNN and probe per teacher, the combined student, adaptor fidelity), for results docs.</summary>
    public static string ResultTables(DistillResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var (knn, combined, fidelity) = Tables(r);
        var run = r.Training is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"; training: {t.Steps} steps, final loss {t.FinalLoss:F4}, {t.ElapsedSeconds:F0} s of training in this run")
            : "";
        return new MarkdownReport()
            .Paragraph($"Data: {r.DataSource}{run}.")
            .Paragraph("kNN (weighted, k = 20, T = 0.07) and linear probe, top-1 % on the held-out images:")
            .Table(knn)
            .Paragraph("Combined student embeddings:")
            .Table(combined)
            .Paragraph("Adaptor fidelity on held-out images (teacher units; fidelity = Var(teacher) / MSE):")
            .Table(fidelity)
            .ToString();
    }

    private static (MarkdownTable Knn, MarkdownTable Combined, MarkdownTable Fidelity) Tables(DistillResult r)
    {
        var knn = new MarkdownTable("teacher", "teacher kNN", "student kNN (adaptor)", "gap", "teacher probe", "student probe (adaptor)");
        foreach (var k in r.Knn)
            knn.AddRow(k.Teacher, Pct(k.TeacherKnn), Pct(k.StudentKnn), Pct(k.StudentKnn - k.TeacherKnn), Pct(k.TeacherProbe), Pct(k.StudentProbe));
        var combined = new MarkdownTable("embedding", "kNN", "probe")
            .AddRow(r.Combined.Embedding, Pct(r.Combined.Knn), Pct(r.Combined.Probe))
            .AddRow(r.BackboneSummary.Embedding, Pct(r.BackboneSummary.Knn), Pct(r.BackboneSummary.Probe));
        var fidelity = new MarkdownTable("teacher", "output", "MSE", "cosine", "Var(teacher)", "fidelity = Var/MSE");
        foreach (var f in r.Fidelity) fidelity.AddRow(f.Teacher, f.Output, G(f.Mse), G(f.Cosine), G(f.TeacherVariance), G(f.Fidelity));
        return (knn, combined, fidelity);
    }

    internal static void Write(DistillResult r, DistillRecipe recipe, RadioDistillModel model)
    {
        long studentParameters = model.StudentModule.parameters().Sum(p => p.numel());
        var (knn, combined, fidelity) = Tables(r);
        var best = r.Knn.Count > 0 ? r.Knn.Max(k => k.TeacherKnn) : double.NaN;
        var cost = new MarkdownTable("teacher", "input size", "images computed this run", "teacher ms / image", "cache hits this run");
        foreach (var c in r.TeacherCost) cost.AddRow(c.Teacher, c.InputSize, c.ImagesComputed, G(c.MsPerImage), c.CacheHits);

        var report = new MarkdownReport()
            .Heading(1, $"Distillation report: {recipe.Name}")
            .Paragraph($"Data: {r.DataSource}. Teachers: {string.Join(", ", recipe.Teachers.Select(t => $"{t.Name} ({t.Kind})"))}. " +
                       string.Create(CultureInfo.InvariantCulture, $"Student: {recipe.Student.Model} ({studentParameters:N0} parameters; ") +
                       $"summary width {model.SummaryWidth}, feature width {model.FeatureWidth}), at {recipe.Data.Resolution} px.");
        if (r.Training is { } t)
            report.Paragraph(string.Create(CultureInfo.InvariantCulture,
                $"Training: {t.Steps} steps (resumed from {t.ResumedFromStep}), final loss {t.FinalLoss:F4}, {t.ElapsedSeconds:F0} s this run."));
        report.Heading(2, "kNN and linear probe (top-1 %, held-out images)")
            .Table(knn)
            .Paragraph("Combined student summary:")
            .Table(combined)
            .Paragraph(string.Create(CultureInfo.InvariantCulture,
                $"Best single teacher kNN: {Pct(best)}; combined student kNN: {Pct(r.Combined.Knn)} ({(r.Combined.Knn > best ? "beats" : "does not beat")} every single teacher)."))
            .Heading(2, "Fidelity of the adaptors (held-out images, teacher units)")
            .Table(fidelity)
            .Heading(2, "Teacher cost")
            .Table(cost);
        if (r.Training is not null)
            report.Heading(2, "Loss curves").Image("training loss", "plots/loss.png").Image("learning rate", "plots/lr.png");
        report.Heading(2, "Spatial features (PCA, first three components as RGB)")
            .Image("PCA of spatial features", "plots/pca_features.png")
            .Heading(2, "Recipe")
            .CodeBlock("yaml", RecipeLoader.ToYaml(recipe));
        report.Save(r.ReportPath);
    }
}
