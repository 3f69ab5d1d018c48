// Tests for the Markdown table and report writers: exact output text, escaping, atomic save.
using Condense.Core.Reports;
using Condense.Testing;

namespace Condense.Core.Tests.Reports;

public class MarkdownTests
{
    [Fact]
    public void Table_RendersExactText_WithInvariantNumbers()
    {
        var table = new MarkdownTable("model", "params", "loss", "ok")
            .AddRow("stories260K", 260_000L, 1.2345678, true)
            .AddRow("resnet8", 78_000, 0.5f, null);

        Assert.Equal(
            "| model | params | loss | ok |\n" +
            "| --- | --- | --- | --- |\n" +
            "| stories260K | 260000 | 1.23457 | True |\n" +
            "| resnet8 | 78000 | 0.5 |  |\n",
            table.ToString());
        Assert.Equal(2, table.RowCount);
    }

    [Fact]
    public void Table_UsesTheDoubleFormatOption()
    {
        var table = new MarkdownTable("sparsity", "ppl") { DoubleFormat = "F2" }.AddRow(0.5, 12.3456);

        Assert.EndsWith("| 0.50 | 12.35 |\n", table.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Table_EscapesPipesBackslashesAndLineBreaks()
    {
        var table = new MarkdownTable("a|b", "note").AddRow("x | y", "line1\nline2 \\ end");

        Assert.Equal(
            "| a\\|b | note |\n" +
            "| --- | --- |\n" +
            "| x \\| y | line1<br>line2 \\\\ end |\n",
            table.ToString());
    }

    [Fact]
    public void Table_RejectsRowsWithTheWrongNumberOfCells()
    {
        var table = new MarkdownTable("a", "b");

        Assert.Throws<ArgumentException>(() => table.AddRow(1, 2, 3));
        Assert.Equal(0, table.RowCount);
    }

    [Fact]
    public void Report_RendersBlocksSeparatedByBlankLines_AndSavesTheSameText()
    {
        using var folder = new TempFolder();
        var path = folder.File("report.md");
        var report = new MarkdownReport()
            .Heading(1, "Pruning run")
            .Paragraph("Magnitude pruning of stories260K.")
            .Table(new MarkdownTable("step", "loss").AddRow(0, 2.5).AddRow(100, 1.25))
            .Image("loss curve", "plots/train loss.png")
            .CodeBlock("json", "{\"sparsity\": 0.5}");

        report.Save(path);

        const string expected =
            "# Pruning run\n" +
            "\n" +
            "Magnitude pruning of stories260K.\n" +
            "\n" +
            "| step | loss |\n" +
            "| --- | --- |\n" +
            "| 0 | 2.5 |\n" +
            "| 100 | 1.25 |\n" +
            "\n" +
            "![loss curve](plots/train%20loss.png)\n" +
            "\n" +
            "```json\n" +
            "{\"sparsity\": 0.5}\n" +
            "```\n";
        Assert.Equal(expected, report.ToString());
        Assert.Equal(expected, File.ReadAllText(path));
        Assert.Equal(new[] { "report.md" }, folder.Entries());
    }

    [Fact]
    public void CodeBlock_FenceOutgrowsBackticksInTheText()
    {
        var report = new MarkdownReport().CodeBlock("md", "use ```python``` fences");

        Assert.Equal("````md\nuse ```python``` fences\n````\n", report.ToString());
    }

    [Fact]
    public void Heading_RejectsLevelsOutsideOneToSix()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MarkdownReport().Heading(7, "too deep"));
        Assert.Equal("###### six\n", new MarkdownReport().Heading(6, "six").ToString());
    }
}
