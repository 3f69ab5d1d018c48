// A distilled model (run folder or checkpoint) to one ONNX file, written atomically and then checked in ONNX
// Runtime against the TorchSharp model on the same random images (two batch sizes; with a free resolution also a
// second, rectangular size), so every exported file comes with its measured agreement.
using Condense.Core;
using Condense.Vision.Distillation;
using static TorchSharp.torch;

namespace Condense.Vision.Export;

/// <summary>What to export.</summary>
/// <param name="Checkpoint">A `condense distill` run folder or its model.safetensors / model_folded.safetensors.</param>
/// <param name="OutputPath">The .onnx file to write.</param>
/// <param name="Height">Export (and check) height; null = the recipe's resolution.</param>
/// <param name="Width">Export width; null = the height.</param>
/// <param name="Overwrite">Whether an existing <paramref name="OutputPath"/> may be replaced.</param>
/// <param name="Verify">Whether to run the file in ONNX Runtime against the model after writing it.</param>
public sealed record OnnxExportOptions(string Checkpoint, string OutputPath, int? Height = null, int? Width = null, bool Overwrite = false, bool Verify = true);

/// <summary>One output of the exported graph.</summary>
/// <param name="Name">Output name ("summary", "features", "{teacher}.summary", "{teacher}.features").</param>
/// <param name="Shape">Declared shape; symbolic dims by name (N, h, w).</param>
public sealed record OnnxOutputInfo(string Name, IReadOnlyList<string> Shape);

/// <summary>The written file and its check.</summary>
public sealed record OnnxExportResult(string Path, long Bytes, int Opset, int Nodes, long Parameters, bool DynamicResolution, int Height, int Width,
    string Student, string FoldedFrom, IReadOnlyList<OnnxOutputInfo> Outputs, IReadOnlyList<OnnxAgreementRow> Agreement)
{
    /// <summary>The largest |ONNX Runtime - TorchSharp| over every output and checked shape (0 when not verified).</summary>
    public double MaxAbsDiff => Agreement.Count == 0 ? 0 : Agreement.Max(a => a.MaxAbsDiff);
}

/// <summary>Exports distilled models to ONNX.</summary>
public static class OnnxModelExport
{
    /// <summary>Reads the checkpoint, writes the ONNX file atomically and (by default) checks it in ONNX Runtime.</summary>
    public static OnnxExportResult Run(OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Directory.Exists(options.OutputPath)) throw InputException.ForOption("OutputPath", $"{options.OutputPath} is a folder; give a file name such as student.onnx");
        if (File.Exists(options.OutputPath) && !options.Overwrite)
            throw InputException.ForOption("OutputPath", $"{options.OutputPath} exists and Overwrite is off");
        if (options.Height is <= 0 || options.Width is <= 0)
            throw InputException.ForOption("Height", $"{options.Height}x{options.Width}: sizes must be positive");
        using var distilled = DistilledModelFile.Load(options.Checkpoint);
        var model = distilled.Model;
        int height = options.Height ?? distilled.Recipe.Data.Resolution, width = options.Width ?? height;
        bool dynamic = OnnxDistillExport.DynamicResolution(model);
        if (model.StudentModule is Radio.RadioStudent rs && (height % rs.Config.PatchSize != 0 || width % rs.Config.PatchSize != 0))
            throw InputException.ForOption("Height", $"{height}x{width} is not a multiple of the student's patch size {rs.Config.PatchSize}");
        string name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(distilled.Path))) ?? "student";
        var proto = OnnxDistillExport.Export(model, height, width, name, new Dictionary<string, string>
        {
            ["condense.checkpoint"] = Path.GetFullPath(distilled.Path),
            ["condense.folded_from"] = distilled.FoldedFrom,
            ["condense.recipe"] = distilled.Recipe.Name,
        });
        long bytes = OnnxFile.Save(proto, options.OutputPath);
        var agreement = new List<OnnxAgreementRow>();
        if (options.Verify)
        {
            var shapes = new List<(int, int, int)> { (1, height, width), (2, height, width) };
            if (dynamic) shapes.Add((2, height * 2, width + (model.StudentModule is Radio.RadioStudent r ? r.Config.PatchSize : 0)));
            agreement.AddRange(OnnxAgreement.Check(options.OutputPath, images => Reference(model, images), shapes));
        }
        var outputs = proto.Graph.Output.Select(o => new OnnxOutputInfo(o.Name,
            [.. o.Type.TensorType.Shape.Dim.Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture))])).ToList();
        return new OnnxExportResult(Path.GetFullPath(options.OutputPath), bytes, OnnxGraphBuilder.Opset, proto.Graph.Node.Count,
            model.parameters().Sum(p => p.numel()), dynamic, height, width, distilled.Recipe.Student.Model, distilled.FoldedFrom, outputs, agreement);
    }

    /// <summary>The TorchSharp outputs under the ONNX graph's output names.</summary>
    public static IReadOnlyDictionary<string, Tensor> Reference(Radio.RadioDistillModel model, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(model);
        var o = model.call(images);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["summary"] = o.Summary, ["features"] = o.Student.Features() };
        foreach (var (teacher, p) in o.Teachers)
        {
            if (p.Summary is not null) result[$"{teacher}.summary"] = p.Summary;
            if (p.Features is not null) result[$"{teacher}.features"] = p.Features;
        }
        return result;
    }
}
