using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Language;
using Condense.Language.Export;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense export MODEL --format gguf --out FILE</c>: a LLaMA (llama2.c file or Hugging Face folder, pruned,
/// elastic or 2:4 with zeros) as a GGUF file for llama.cpp, Ollama and LLamaSharp.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var model = new Argument<string>("MODEL") { Description = "llama2.c .bin file or Hugging Face folder." };
        var tokenizer = LanguageOptions.Tokenizer();
        var format = new Option<string>("--format") { Description = "Output format: gguf (ONNX export of the vision models is not built yet).", DefaultValueFactory = _ => "gguf" };
        var output = new Option<string>("--out") { Description = "File to write.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weight matrices as f32, f16 or q8_0 (norms stay f32; q8_0 falls back to f16 for rows not a multiple of 32).", DefaultValueFactory = _ => "f32" };
        var name = new Option<string?>("--name") { Description = "general.name in the file (default: the model's name)." };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists." };
        var cmd = new Command("export", "Export a LLaMA as GGUF (llama.cpp, Ollama, LLamaSharp).")
        {
            model, tokenizer, format, output, dtype, name, force, json,
        };
        cmd.SetAction(pr =>
        {
            var cli = new CliOutput(pr.GetValue(json));
            var fmt = pr.GetValue(format)!.ToLowerInvariant();
            if (fmt == "onnx") throw new InputException("--format onnx: ONNX export is not built yet; gguf is");
            if (fmt != "gguf") throw new InputException($"--format '{pr.GetValue(format)}': expected gguf");
            var type = pr.GetValue(dtype)!.ToLowerInvariant() switch
            {
                "f32" => GgufDtype.F32,
                "f16" => GgufDtype.F16,
                "q8_0" => GgufDtype.Q8_0,
                var other => throw new InputException($"--dtype '{other}': expected f32, f16 or q8_0"),
            };
            var outPath = pr.GetValue(output)!;
            if (Directory.Exists(outPath)) throw new InputException($"--out {outPath} is a folder; give a file name such as model.gguf");
            if (File.Exists(outPath) && !pr.GetValue(force)) throw new InputException($"--out {outPath} exists; pass --force to overwrite it");
            TorchRuntime.EnsureLoaded();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (lm, tok, modelPath, tokPath) = LanguageModelFiles.Load(pr.GetValue(model), pr.GetValue(tokenizer));
            using var _ = lm;
            var result = LlamaGgufExport.Write(lm, tok, outPath, type, pr.GetValue(name) ?? LanguageModelFiles.ModelName(modelPath));
            cli.Result(new
            {
                model = Path.GetFullPath(modelPath),
                tokenizer = Path.GetFullPath(tokPath),
                format = "gguf",
                dtype = pr.GetValue(dtype)!.ToLowerInvariant(),
                @out = result.Path,
                bytes = result.Bytes,
                tensors = result.Tensors,
                tensor_types = result.TensorTypes,
                layers = result.Layers,
                seconds = watch.Elapsed.TotalSeconds,
            });
            if (!cli.Json)
                cli.Human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {result.Path}: GGUF v3, {result.Bytes / 1024.0:F0} KiB, {result.Tensors} tensors ({string.Join(", ", result.TensorTypes.Select(t => $"{t.Value} {t.Key}"))}), {result.Layers} blocks"));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
