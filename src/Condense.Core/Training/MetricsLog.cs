using System.Globalization;
using System.Text;
using System.Text.Json;
using Condense.Core.IO;

namespace Condense.Core.Training;

/// <summary>
/// metrics.jsonl: one JSON object per optimizer step (step, loss, lr, grad_norm, step_s, cpu_s, items_per_s and any
/// extra parts). On resume the lines past the restored step are dropped first, so the file always describes
/// exactly one history.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    /// <summary>
    /// Opens <paramref name="path"/> for appending, creating its folder; an existing file first loses every line
    /// past step <paramref name="keepThroughStep"/> and any unreadable (torn) line.
    /// </summary>
    public MetricsLog(string path, long keepThroughStep)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        if (File.Exists(path))
        {
            var kept = File.ReadLines(path).Where(l => l.Length > 0 && StepOf(l) is long s && s <= keepThroughStep).ToList();
            AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

    /// <summary>The metrics.jsonl file being written.</summary>
    public string Path { get; }

    /// <summary>Appends one line for <paramref name="m"/>; non-finite values are written as JSON null.</summary>
    public void Write(StepMetrics m)
    {
        var sb = new StringBuilder(160);
        sb.Append("{\"step\":").Append(m.Step.ToString(CultureInfo.InvariantCulture));
        Field(sb, "loss", m.Loss);
        Field(sb, "lr", m.LearningRate);
        Field(sb, "grad_norm", m.GradNorm);
        Field(sb, "step_s", m.StepSeconds);
        if (!double.IsNaN(m.CpuSeconds)) Field(sb, "cpu_s", m.CpuSeconds);
        Field(sb, "items_per_s", m.ItemsPerSecond);
        if (m.Extra is not null)
            foreach (var (k, v) in m.Extra) Field(sb, k, v);
        sb.Append('}');
        _writer.WriteLine(sb.ToString());
    }

    /// <summary>Writes buffered lines to the file.</summary>
    public void Flush() => _writer.Flush();

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();

    /// <summary>Reads every line as a name → value map (non-finite values come back as NaN).</summary>
    public static List<Dictionary<string, double>> Read(string path)
    {
        var rows = new List<Dictionary<string, double>>();
        if (!File.Exists(path)) return rows;
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var row = new Dictionary<string, double>();
                foreach (var p in doc.RootElement.EnumerateObject())
                    row[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN;
                rows.Add(row);
            }
            catch (JsonException ex)
            {
                throw new InputException($"{path}:{lineNo}: not a JSON object ({ex.Message.Split('.')[0]})");
            }
        }
        return rows;
    }

    private static void Field(StringBuilder sb, string name, double value)
    {
        sb.Append(",\"").Append(JsonEncodedText.Encode(name)).Append("\":");
        // JSON has no NaN/Infinity: write null so every line stays valid JSON.
        sb.Append(double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "null");
    }

    private static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out var v) ? v : null;
        }
        catch (JsonException)
        {
            return null;   // a torn last line from a killed run: dropped
        }
    }
}
