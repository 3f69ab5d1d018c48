// The files of a trained VLM run and how to load them back.
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Experts.Experts;
using Condense.Experts.Model;
using Condense.Experts.Text;

namespace Condense.Experts.Training;

/// <summary>A trained VLM with its tokenizer and conversation format.</summary>
public sealed class TrainedVlm : IDisposable
{
    internal TrainedVlm(VisionLanguageModel model, WordTokenizer tokenizer, bool textOnly, ExpertSet experts)
    {
        Model = model;
        Experts = experts;
        Tokenizer = tokenizer;
        TextOnly = textOnly;
        Format = new ConversationFormat(tokenizer, model.Config.ImageTokens);
    }

    /// <summary>The model (in eval mode).</summary>
    public VisionLanguageModel Model { get; }

    /// <summary>Its tokenizer.</summary>
    public WordTokenizer Tokenizer { get; }

    /// <summary>Its conversation format.</summary>
    public ConversationFormat Format { get; }

    /// <summary>The experts it was trained with: the atlas and, when the run trained one, the learned segmenter.</summary>
    public ExpertSet Experts { get; }

    /// <summary>Whether it is the text-only floor (never saw an image).</summary>
    public bool TextOnly { get; }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}

/// <summary>File names in a VLM run folder.</summary>
public static class VlmFiles
{
    /// <summary>The weights.</summary>
    public const string Weights = "vlm.safetensors";
    /// <summary>The architecture.</summary>
    public const string Config = "vlm.json";
    /// <summary>The vocabulary.</summary>
    public const string Tokenizer = "tokenizer.json";
    /// <summary>Stage summary.</summary>
    public const string Summary = "summary.json";

    /// <summary>Loads the VLM of run folder <paramref name="runDir"/>; missing or bad files get an <see cref="InputException"/>.</summary>
    public static TrainedVlm Load(string runDir)
    {
        if (!Directory.Exists(runDir)) throw new InputException($"{runDir}: VLM run folder not found");
        string weights = Path.Combine(runDir, Weights);
        if (!File.Exists(weights)) throw new InputException($"{weights} not found: train the VLM first (condense vlm train)");
        var config = VlmConfig.Load(Path.Combine(runDir, Config));
        var tokenizer = WordTokenizer.Load(Path.Combine(runDir, Tokenizer));
        if (tokenizer.Count != config.VocabSize)
            throw new InputException($"{runDir}: tokenizer has {tokenizer.Count} tokens, the model {config.VocabSize}");
        var model = new VisionLanguageModel(config);
        var metadata = model.LoadSafetensors(weights);
        model.eval();
        var experts = new List<IExpert> { new AtlasExpert() };
        if (SegmenterTraining.Load(runDir) is { } segment) experts.Add(segment);
        return new TrainedVlm(model, tokenizer, metadata.GetValueOrDefault("text_only") == "true", new ExpertSet(experts));
    }
}
