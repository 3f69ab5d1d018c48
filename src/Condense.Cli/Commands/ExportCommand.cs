using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Language;
using Condense.Language.Export;
using Condense.Vision.Export;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense export MODEL --format gguf --out FILE</c>: a LLaMA (llama2.c file or Hugging Face folder, pruned,
/// elastic or 2:4 with zeros) as a GGUF file for llama.cpp, Ollama and LLamaSharp.
/// <c>condense export RUN --format onnx --out FILE</c>: a distilled vision student with its adaptor heads as ONNX,
/// checked in ONNX Runtime after writing.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var model = new Argument<string>("MODEL") { Description = "gguf: llama2.c .bin file or Hugging Face folder; onnx: a `condense distill` run folder or its model.safetensors." };
        var tokenizer = LanguageOptions.Tokenizer();
        var format = new Option<string?>("--format") { Description = "Output format: gguf (LLaMAs) or onnx (distilled vision students); default: onnx for a distill run, else gguf." };
        var output = new Option<string>("--out") { Description = "File to write.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weight matrices as f32, f16 or q8_0 (norms stay f32; q8_0 falls back to f16 for rows not a multiple of 32).", DefaultValueFactory = _ => "f32" };
        var name = new Option<string?>("--name") { Description = "general.name in the file (default: the model's name)." };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists." };
        var resolution = new Option<string?>("--resolution") { Description = "onnx: export size, N or HxW (default: the run's training resolution; a RADIO ViT student's graph takes any multiple of its patch size)." };
        var noVerify = new Option<bool>("--no-verify") { Description = "onnx: skip the ONNX Runtime check after writing." };
        var cmd = new Command("export", "Export a LLaMA as GGUF (llama.cpp, Ollama, LLamaSharp) or a distilled vision student as ONNX (ONNX Runtime).")
        {
            model, tokenizer, format, output, dtype, name, force, resolution, noVerify, json,
        };
        cmd.SetAction(pr =>
        {
            var cli = new CliOutput(pr.GetValue(json));
            var fmt = (pr.GetValue(format) ?? (IsDistillRun(pr.GetValue(model)!) ? "onnx" : "gguf")).ToLowerInvariant();
            if (fmt == "onnx")
            {
                if (pr.GetValue(dtype)!.ToLowerInvariant() != "f32") throw new InputException($"--dtype '{pr.GetValue(dtype)}': ONNX export writes f32 only");
                if (File.Exists(pr.GetValue(model)) && !IsDistillRun(pr.GetValue(model)!))
                    throw new InputException($"{pr.GetValue(model)}: ONNX export takes a `condense distill` run folder or its safetensors file (LLaMAs export with --format gguf)");
                var (height, width) = ParseResolution(pr.GetValue(resolution));
                return ExportOnnx(cli, new OnnxExportOptions(pr.GetValue(model)!, pr.GetValue(output)!, height, width, pr.GetValue(force), !pr.GetValue(noVerify)));
            }
            if (fmt != "gguf") throw new InputException($"--format '{pr.GetValue(format)}': expected gguf or onnx");
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

    // A `condense distill` run folder, or a safetensors file: vision models (LLaMAs come as .bin or Hugging Face folders).
    private static bool IsDistillRun(string path) =>
        (Directory.Exists(path) && File.Exists(Path.Combine(path, "model.safetensors")))
        || (File.Exists(path) && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase));

    private static (int? Height, int? Width) ParseResolution(string? text)
    {
        if (text is null) return (null, null);
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is < 1 or > 2 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0))
            throw new InputException($"--resolution '{text}': expected a positive size N or HxW, e.g. 224 or 224x320");
        int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
        return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
    }

    private static int ExportOnnx(CliOutput cli, OnnxExportOptions options)
    {
        if (Directory.Exists(options.OutputPath)) throw new InputException($"--out {options.OutputPath} is a folder; give a file name such as student.onnx");
        if (File.Exists(options.OutputPath) && !options.Overwrite) throw new InputException($"--out {options.OutputPath} exists; pass --force to overwrite it");
        TorchRuntime.EnsureLoaded();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = OnnxModelExport.Run(options);
        cli.Result(new
        {
            format = "onnx",
            @out = result.Path,
            bytes = result.Bytes,
            opset = result.Opset,
            nodes = result.Nodes,
            parameters = result.Parameters,
            student = result.Student,
            folded_from = result.FoldedFrom,
            dynamic_resolution = result.DynamicResolution,
            height = result.Height,
            width = result.Width,
            outputs = result.Outputs.Select(o => new { name = o.Name, shape = o.Shape }),
            agreement = result.Agreement.Select(a => new { batch = a.Batch, height = a.Height, width = a.Width, output = a.Output, max_abs_diff = a.MaxAbsDiff, max_abs_value = a.MaxAbsValue }),
            max_abs_diff = result.MaxAbsDiff,
            seconds = watch.Elapsed.TotalSeconds,
        });
        if (!cli.Json)
        {
            var inv = CultureInfo.InvariantCulture;
            cli.Human.WriteLine(string.Create(inv,
                $"wrote {result.Path}: ONNX opset {result.Opset}, {result.Bytes / 1024.0:F0} KiB, {result.Nodes} nodes, {result.Parameters:N0} parameters ({result.Student} student, heads in teacher units{(result.FoldedFrom == "none" ? "" : $", {result.FoldedFrom} folded in")})"));
            cli.Human.WriteLine(string.Create(inv,
                $"input images (N, 3, {(result.DynamicResolution ? "H, W" : $"{result.Height}, {result.Width}")}) RGB in [0, 1]; outputs {string.Join(", ", result.Outputs.Select(o => $"{o.Name} ({string.Join(", ", o.Shape)})"))}"));
            if (result.Agreement.Count > 0)
                cli.Human.WriteLine(string.Create(inv,
                    $"ONNX Runtime agrees with Condense to max |diff| {result.MaxAbsDiff:E1} over {string.Join(", ", result.Agreement.Select(a => $"{a.Batch}x{a.Height}x{a.Width}").Distinct())}"));
        }
        return ExitCodes.Ok;
    }
}
