// The VLM's shape: a registry backbone, pixel-unshuffle token compression, VILA's mlp_downsample projector and a
// LLaMA decoder, sized for 2 CPU cores.
using System.Text.Json;
using Condense.Core;
using Condense.Core.IO;
using Condense.Language.Models;
using Condense.Vision.Models;

namespace Condense.Experts.Model;

/// <summary>The VLM's architecture (saved beside its weights as vlm.json).</summary>
/// <param name="ImagePixels">Side of the square input image.</param>
/// <param name="Backbone">Vision backbone name in the model registry.</param>
/// <param name="PatchSize">ViT patch size (ViT backbones).</param>
/// <param name="VisionDim">ViT width.</param>
/// <param name="VisionDepth">ViT blocks.</param>
/// <param name="VisionHeads">ViT heads.</param>
/// <param name="Unshuffle">Pixel-unshuffle factor of the token compression (2: 4 tokens into 1, as VILA's mlp_downsample).</param>
/// <param name="Dim">Decoder width.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="Heads">Decoder heads.</param>
/// <param name="HiddenDim">Decoder MLP width.</param>
/// <param name="VocabSize">Vocabulary size (the tokenizer's).</param>
/// <param name="MaxSeqLen">Longest conversation in tokens.</param>
public sealed record VlmConfig(int ImagePixels = 64, string Backbone = "vit_tiny", int PatchSize = 8, int VisionDim = 96,
    int VisionDepth = 4, int VisionHeads = 3, int Unshuffle = 2, int Dim = 128, int Layers = 4, int Heads = 4,
    int HiddenDim = 352, int VocabSize = 0, int MaxSeqLen = 384)
{
    /// <summary>Feature cells per side of the backbone's map.</summary>
    public int Grid => ImagePixels / PatchSize;

    /// <summary>Tokens one image takes in the decoder after compression.</summary>
    public int ImageTokens => Grid / Unshuffle * (Grid / Unshuffle);

    /// <summary>The backbone's registry options.</summary>
    public BackboneOptions BackboneOptions() =>
        new(Resolution: ImagePixels, NumClasses: 0, Vit: new VitSize(PatchSize, VisionDim, VisionDepth, VisionHeads, 4, ImagePixels));

    /// <summary>The decoder's configuration.</summary>
    public LlamaConfig Decoder() => new(Dim, HiddenDim, Layers, Heads, Heads, VocabSize, MaxSeqLen);

    /// <summary>Checks the shape; errors name the field.</summary>
    public void Validate()
    {
        if (ImagePixels < 8 || PatchSize < 1 || ImagePixels % PatchSize != 0)
            throw new InputException($"ImagePixels {ImagePixels} must be a positive multiple of PatchSize {PatchSize}");
        if (Unshuffle < 1 || Grid % Unshuffle != 0)
            throw new InputException($"Unshuffle {Unshuffle} must divide the feature grid {Grid}");
        if (!ModelRegistry.Contains(Backbone)) throw new InputException($"Backbone '{Backbone}' is not in the model registry ({string.Join(", ", ModelRegistry.Names)})");
        if (VocabSize < 6) throw new InputException($"VocabSize {VocabSize} must cover the special tokens");
        Decoder().Validate();
    }

    /// <summary>Writes the configuration as JSON (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Reads a configuration written by <see cref="Save"/>.</summary>
    public static VlmConfig Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"{path}: VLM configuration not found");
        try
        {
            var config = JsonSerializer.Deserialize<VlmConfig>(File.ReadAllText(path)) ?? throw new InputException($"{path}: empty VLM configuration");
            config.Validate();
            return config;
        }
        catch (JsonException e)
        {
            throw new InputException($"{path}: not a VLM configuration ({e.Message})", e);
        }
    }
}
