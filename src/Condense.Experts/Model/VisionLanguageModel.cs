// The VLM: vision encoder (a registry backbone) → token compression (pixel-unshuffle of the feature grid) → MLP
// projector (VILA's mlp_downsample: LayerNorm, Linear, GELU, Linear) → LLaMA decoder, whose <image> slots are
// replaced by the projected image tokens in order (LLaVA/VILA's embedding merge).
using Condense.Language.Models;
using Condense.Vision.Models;
using Condense.Vision.TokenCompression;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Experts.Model;

/// <summary>Images (N, 3, S, S) and tokens (B, T) with N·ImageTokens image slots to next-token logits (B, T, V).</summary>
public sealed class VisionLanguageModel : Module<Tensor, Tensor, Tensor>
{
    private readonly Module vision_tower;
    private readonly Sequential mm_projector;
    private readonly LlamaForCausalLM llm;
    private readonly IBackbone backbone;

    /// <summary>A freshly initialised VLM of <paramref name="config"/>.</summary>
    public VisionLanguageModel(VlmConfig config) : base(nameof(VisionLanguageModel))
    {
        config.Validate();
        Config = config;
        backbone = ModelRegistry.Create(config.Backbone, config.BackboneOptions());
        vision_tower = backbone.Module;
        int f2c = config.Unshuffle * config.Unshuffle * backbone.FeatureDim;
        mm_projector = Sequential(
            ("0", LayerNorm(f2c)),
            ("1", Linear(f2c, config.Dim)),
            ("2", GELU()),
            ("3", Linear(config.Dim, config.Dim)));
        llm = new LlamaForCausalLM(config.Decoder());
        register_module(nameof(vision_tower), vision_tower);
        register_module(nameof(mm_projector), mm_projector);
        register_module(nameof(llm), llm);
    }

    /// <summary>The architecture.</summary>
    public VlmConfig Config { get; }

    /// <summary>The vision encoder.</summary>
    public Module VisionTower => vision_tower;

    /// <summary>The projector.</summary>
    public Module Projector => mm_projector;

    /// <summary>The decoder.</summary>
    public LlamaForCausalLM Llm => llm;

    /// <summary>The backbone's dense features (N, C, g, g) of images (N, 3, S, S) in [0, 1].</summary>
    public Tensor VisionFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = (images - 0.5) / 0.25;                                          // (N, 3, S, S), centred like ImageNet inputs
        var output = backbone.ForwardBackbone(x);
        return output.Features.MoveToOuterDisposeScope();                       // (N, C, g, g)
    }

    /// <summary>Image tokens (N, ImageTokens, Dim) in the decoder's embedding space.</summary>
    public Tensor EncodeImages(Tensor images)
    {
        using var scope = NewDisposeScope();
        var features = VisionFeatures(images);                                  // (N, C, g, g)
        int g = (int)features.shape[2];
        var tokens = features.flatten(2).transpose(1, 2);                       // (N, g², C)
        var compressed = TokenPixelUnshuffle.Apply(tokens.contiguous(), g, g, Config.Unshuffle);   // (N, g²/f², f²C)
        return mm_projector.call(compressed).MoveToOuterDisposeScope();          // (N, g²/f², D)
    }

    /// <summary>Decoder input embeddings (B, T, D): token embeddings with the image slots filled from <paramref name="images"/>.</summary>
    public Tensor Embed(Tensor tokens, Tensor? images)
    {
        using var scope = NewDisposeScope();
        var embeddings = llm.Model.EmbedTokens.call(tokens);                    // (B, T, D)
        var slots = tokens.eq(Text.WordTokenizer.Image);                        // (B, T)
        long slotCount = slots.sum().item<long>();
        long imageCount = images?.shape[0] ?? 0;
        if (slotCount != imageCount * Config.ImageTokens)
            throw new ArgumentException($"{slotCount} image slots for {imageCount} images of {Config.ImageTokens} tokens");
        if (imageCount == 0) return embeddings.MoveToOuterDisposeScope();
        var imageTokens = EncodeImages(images!).reshape(-1, Config.Dim);         // (N·I, D), in slot order
        var merged = embeddings.masked_scatter(slots.unsqueeze(-1).expand_as(embeddings), imageTokens);
        return merged.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens, Tensor images) => Forward(tokens, images);

    /// <summary>Next-token logits (B, T, V); <paramref name="images"/> may be null when the tokens hold no image slots.</summary>
    public Tensor Forward(Tensor tokens, Tensor? images, LlamaKvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = llm.Model.ForwardEmbeddings(Embed(tokens, images), cache);  // (B, T, D)
        return llm.Logits(hidden).MoveToOuterDisposeScope();                    // (B, T, V)
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) backbone.Dispose();
        base.Dispose(disposing);
    }
}
