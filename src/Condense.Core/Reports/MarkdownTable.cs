// A GitHub-flavoured Markdown table built row by row, with culture-independent number formatting.
using System.Globalization;
using System.Text;

namespace Condense.Core.Reports;

/// <summary>
/// Builds a pipe table. Cells are formatted invariantly (a German machine still writes <c>0.5</c>): doubles and
/// floats with <see cref="DoubleFormat"/>, other numbers with their default format, null as an empty cell.
/// Pipes in cells are escaped and line breaks become <c>&lt;br&gt;</c>, so no cell can break the table.
/// </summary>
public sealed class MarkdownTable
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    /// <summary>A table with these column headers (at least one).</summary>
    public MarkdownTable(params string[] headers)
    {
        if (headers.Length == 0) throw new ArgumentException("a table needs at least one column", nameof(headers));
        _headers = headers.Select(Escape).ToArray();
    }

    /// <summary>.NET format string for double and float cells (default "G6": 0.123457, 1.5E-07).</summary>
    public string DoubleFormat { get; init; } = "G6";

    /// <summary>Number of columns.</summary>
    public int ColumnCount => _headers.Length;

    /// <summary>Number of rows added, not counting the header.</summary>
    public int RowCount => _rows.Count;

    /// <summary>Adds one row; the number of cells must equal the number of columns.</summary>
    public MarkdownTable AddRow(params object?[] cells)
    {
        if (cells.Length != _headers.Length)
            throw new ArgumentException($"row has {cells.Length} cells, the table has {_headers.Length} columns",
                nameof(cells));
        _rows.Add(cells.Select(c => Escape(Format(c))).ToArray());
        return this;
    }

    /// <summary>The table as Markdown: header row, separator row, then the rows, each ending in a newline.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        AppendRow(text, _headers);
        AppendRow(text, _headers.Select(_ => "---"));
        foreach (var row in _rows) AppendRow(text, row);
        return text.ToString();
    }

    private string Format(object? cell) => cell switch
    {
        null => "",
        double d => d.ToString(DoubleFormat, CultureInfo.InvariantCulture),
        float f => f.ToString(DoubleFormat, CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };

    private static string Escape(string cell) =>
        cell.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("\r\n", "<br>", StringComparison.Ordinal)
            .Replace("\n", "<br>", StringComparison.Ordinal)
            .Replace("\r", "<br>", StringComparison.Ordinal);

    private static void AppendRow(StringBuilder text, IEnumerable<string> cells) =>
        text.Append("| ").AppendJoin(" | ", cells).Append(" |\n");
}
