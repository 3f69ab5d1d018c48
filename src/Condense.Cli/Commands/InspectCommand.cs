using System.CommandLine;
using System.Globalization;
using Condense.Experiments.Inspection;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary><c>condense inspect FILE</c>: what a GGUF, ONNX, safetensors or llama2.c file holds.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var file = new Argument<string>("FILE") { Description = "A .gguf, .onnx, .safetensors or llama2.c .bin file (or a Hugging Face folder)." };
        var all = new Option<bool>("--all") { Description = "List every tensor (default: the first 24)." };
        var cmd = new Command("inspect", "Show what a GGUF, ONNX, safetensors or llama2.c file holds: format, architecture, metadata, tensors.")
        {
            file, all, json,
        };
        cmd.SetAction(pr =>
        {
            var cli = new CliOutput(pr.GetValue(json));
            var result = FileInspector.Inspect(pr.GetValue(file)!);
            cli.Result(result);
            if (cli.Json) return ExitCodes.Ok;
            var inv = CultureInfo.InvariantCulture;
            cli.Human.WriteLine(string.Create(inv, $"{result.Path}: {result.Format}, {result.Bytes:N0} bytes, {result.Tensors.Count} tensors, {result.Parameters:N0} values{(result.Architecture is null ? "" : $", architecture {result.Architecture}")}"));
            if (result.Metadata.Count > 0)
            {
                var meta = new Table().AddColumn("key").AddColumn("value");
                foreach (var (key, value) in result.Metadata) meta.AddRow(Markup.Escape(key), Markup.Escape(value.Length > 100 ? value[..100] + "..." : value));
                cli.Human.Write(meta);
            }
            var tensors = new Table().AddColumn("tensor").AddColumn("dtype").AddColumn("shape").AddColumn(new TableColumn("bytes").RightAligned());
            int shown = pr.GetValue(all) ? result.Tensors.Count : Math.Min(24, result.Tensors.Count);
            foreach (var t in result.Tensors.Take(shown))
                tensors.AddRow(Markup.Escape(t.Name), Markup.Escape(t.Dtype), Markup.Escape($"[{string.Join(", ", t.Shape)}]"), t.Bytes.ToString("N0", inv));
            cli.Human.Write(tensors);
            if (shown < result.Tensors.Count) cli.Human.WriteLine($"... {result.Tensors.Count - shown} more (--all lists them)");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
