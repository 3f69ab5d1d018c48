// Any image classifier a user brings as an ONNX model becomes an expert: a JSON config names the model, its input and
// output, the labels and the preprocessing; the expert classifies the un-augmented slice of the original volume the
// user's image was cut from, rendered at the model's input size, and answers with its top predictions, in the
// wording of the reference's CXR expert ("The resulting predictions are: ...").
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Condense.Core;
using Condense.Experts.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condense.Experts.Experts;

/// <summary>The JSON config of an ONNX classifier expert.</summary>
public sealed record OnnxExpertConfig
{
    /// <summary>Trigger name (letters, digits, underscores; upper case by convention).</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "";

    /// <summary>The .onnx file, relative to the config file.</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "";

    /// <summary>Class names in output order.</summary>
    [JsonPropertyName("labels")] public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>Input name (default: the model's first input).</summary>
    [JsonPropertyName("input")] public string? Input { get; init; }

    /// <summary>Output name (default: the model's first output).</summary>
    [JsonPropertyName("output")] public string? Output { get; init; }

    /// <summary>Channels the model takes: 1 (grey) or 3 (RGB).</summary>
    [JsonPropertyName("channels")] public int Channels { get; init; } = 1;

    /// <summary>Input side in pixels (the model's fixed size).</summary>
    [JsonPropertyName("size")] public int Size { get; init; }

    /// <summary>Pixel values are image values in [0, 1] times this, then (x − mean) / std.</summary>
    [JsonPropertyName("scale")] public double Scale { get; init; } = 1;

    /// <summary>Subtracted after scaling.</summary>
    [JsonPropertyName("mean")] public double Mean { get; init; }

    /// <summary>Divides after the mean.</summary>
    [JsonPropertyName("std")] public double Std { get; init; } = 1;

    /// <summary>Predictions listed in the answer.</summary>
    [JsonPropertyName("top")] public int Top { get; init; } = 3;

    /// <summary>The model card line (default: a generic one).</summary>
    [JsonPropertyName("card")] public string? Card { get; init; }
}

/// <summary>An ONNX image classifier as an expert. Arguments are ignored.</summary>
public sealed class OnnxClassifierExpert : IExpert, IDisposable
{
    private readonly OnnxExpertConfig config;
    private readonly InferenceSession session;
    private readonly string input, output;

    private OnnxClassifierExpert(OnnxExpertConfig config, InferenceSession session, string input, string output)
    {
        this.config = config;
        this.session = session;
        this.input = input;
        this.output = output;
    }

    /// <inheritdoc />
    public string Name => config.Name;

    /// <inheritdoc />
    public string ModelCard => config.Card ?? $"<{config.Name}(args)> : image classification ({config.Labels.Count} classes). Args: None.";

    /// <summary>Loads the expert of config file <paramref name="path"/>; every problem is an <see cref="InputException"/> naming the file and field.</summary>
    public static OnnxClassifierExpert Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: expert config not found");
        OnnxExpertConfig config;
        try
        {
            config = JsonSerializer.Deserialize<OnnxExpertConfig>(File.ReadAllText(path)) ?? throw new InputException($"{path}: empty expert config");
        }
        catch (JsonException e)
        {
            throw new InputException($"{path}: not a valid expert config ({e.Message.Split('\n')[0]})", e);
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(config.Name, "^[A-Za-z][A-Za-z0-9_]*$"))
            throw new InputException($"{path}: name '{config.Name}' must be letters, digits and underscores, starting with a letter");
        if (config.Labels.Count == 0) throw new InputException($"{path}: labels must list the classes");
        if (config.Channels is not (1 or 3)) throw new InputException($"{path}: channels {config.Channels} must be 1 or 3");
        if (config.Size < 1) throw new InputException($"{path}: size {config.Size} must be the model's input side in pixels");
        if (config.Std == 0) throw new InputException($"{path}: std must not be 0");
        string model = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, config.Model);
        if (!File.Exists(model)) throw new InputException($"{path}: model '{model}' not found");
        InferenceSession session;
        try
        {
            session = new InferenceSession(model);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InputException($"{path}: ONNX Runtime cannot load '{model}' ({e.Message.Split('\n')[0]})", e);
        }
        string inputName = config.Input ?? session.InputMetadata.Keys.First();
        string outputName = config.Output ?? session.OutputMetadata.Keys.First();
        if (!session.InputMetadata.ContainsKey(inputName))
        {
            session.Dispose();
            throw new InputException($"{path}: input '{inputName}' is not an input of the model ({string.Join(", ", session.InputMetadata.Keys)})");
        }
        if (!session.OutputMetadata.ContainsKey(outputName))
        {
            session.Dispose();
            throw new InputException($"{path}: output '{outputName}' is not an output of the model ({string.Join(", ", session.OutputMetadata.Keys)})");
        }
        return new OnnxClassifierExpert(config, session, inputName, outputName);
    }

    /// <inheritdoc />
    public ExpertResult Run(string arguments, ExpertContext context)
    {
        int s = config.Size, c = config.Channels;
        var original = new SliceView(context.View.Plane, context.View.Index);
        var image = SliceRenderer.Render(context.Atlas, original, s);
        var data = new DenseTensor<float>([1, c, s, s]);
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < s * s; p++)
                data.Buffer.Span[ch * s * s + p] = (float)((image[ch * s * s + p] * config.Scale - config.Mean) / config.Std);
        float[] logits;
        try
        {
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, data)], [output]);
            logits = results.First().AsEnumerable<float>().ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            throw new ExpertException($"{Name}: ONNX Runtime failed ({e.Message.Split('\n')[0]})");
        }
        if (logits.Length != config.Labels.Count)
            throw new ExpertException($"{Name}: the model gives {logits.Length} scores for {config.Labels.Count} labels");
        double max = logits.Max();
        var exp = logits.Select(x => Math.Exp(x - max)).ToArray();
        double sum = exp.Sum();
        var top = Enumerable.Range(0, logits.Length).OrderByDescending(i => exp[i]).Take(Math.Max(1, config.Top))
            .Select(i => $"{config.Labels[i]} {(exp[i] / sum).ToString("0.00", CultureInfo.InvariantCulture)}");
        return new ExpertResult($"The resulting predictions are: {string.Join(", ", top)}.");
    }

    /// <inheritdoc />
    public void Dispose() => session.Dispose();
}
