using System.Text;

namespace Condense.Cli;

/// <summary>
/// The one place where an engine's option name becomes the command-line flag a user typed: <c>CalibrationLength</c>
/// → <c>--calibration-length</c>, with the few flags that are named differently listed here.
/// </summary>
internal static class OptionFlags
{
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["TrainImages"] = "--train",            // study token-compression
        ["BudgetSeconds"] = "--budget",         // study backbones
        ["Methods"] = "--method",               // sparsify
        ["OutDir"] = "--out",                   // sparsify
        ["OutputDir"] = "--out",                // prune-depth
        ["LearningRate"] = "--lr",              // vlm train
        ["OutputPath"] = "--out",               // export --format onnx
        ["Height"] = "--resolution",            // export --format onnx
    };

    public static string For(string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        if (Renamed.TryGetValue(option, out var flag)) return flag;
        var sb = new StringBuilder("--");
        for (int i = 0; i < option.Length; i++)
        {
            char c = option[i];
            if (char.IsUpper(c) && i > 0) sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>The error as the CLI prints it: the engine's option name replaced by its flag.</summary>
    public static string Message(Condense.Core.InputException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.Option is null ? ex.Message : ex.MessageWithOption(For(ex.Option));
    }
}
