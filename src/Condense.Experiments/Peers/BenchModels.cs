// The two training-step workloads of `train-step`, kept apart from the step itself (CondenseStep.TrainStep) so the
// step can be swapped for Condense's own training loop without touching models, batches or losses.
// The PyTorch peer (bench/peers/pytorch_train_bench.py) builds the same models, batches and losses.
using Condense.Language.Models;
using Condense.Vision.Models;
using static TorchSharp.torch;

namespace Condense.Experiments.Peers;

/// <summary>A model plus how to make a random batch for it and how to score that batch.</summary>
public interface IBenchModel : IDisposable
{
    /// <summary>Short name shared with the PyTorch peer (`vit_tiny`, `llama_small`).</summary>
    string Name { get; }

    /// <summary>The trainable module.</summary>
    nn.Module Model { get; }

    /// <summary>Items (images or tokens) in one batch.</summary>
    long ItemsPerBatch { get; }

    /// <summary>A fresh random batch drawn from <paramref name="generator"/>.</summary>
    (Tensor Input, Tensor Target) MakeBatch(Generator generator);

    /// <summary>Scalar training loss of the model on one batch.</summary>
    Tensor Loss(Tensor input, Tensor target);
}

/// <summary>ViT-Tiny/16 at 224 px, batch 32, 1000 classes, cross-entropy on random images and labels.</summary>
public sealed class VitTinyBench : IBenchModel
{
    private const int Batch = 32;
    private readonly VisionTransformer model = new(VitConfig.Tiny);

    /// <inheritdoc />
    public string Name => "vit_tiny";

    /// <inheritdoc />
    public nn.Module Model => model;

    /// <inheritdoc />
    public long ItemsPerBatch => Batch;

    /// <inheritdoc />
    public (Tensor Input, Tensor Target) MakeBatch(Generator generator)
    {
        var config = model.Config;
        var images = randn([Batch, config.InChannels, config.ImageSize, config.ImageSize], generator: generator);
        var labels = randint(0, config.NumClasses, [Batch], dtype: int64, generator: generator);
        return (images, labels);
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor input, Tensor target) => nn.functional.cross_entropy(model.call(input), target);

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}

/// <summary>
/// A small LLaMA (dim 288, hidden 768, 6 layers, 6 heads, 6 kv heads, vocab 32000, untied), batch 8 of 256 tokens,
/// next-token cross-entropy on random tokens.
/// </summary>
public sealed class LlamaSmallBench : IBenchModel
{
    private const int Batch = 8;
    private const int SeqLen = 256;
    private static readonly LlamaConfig Config = new(Dim: 288, HiddenDim: 768, NLayers: 6, NHeads: 6, NKvHeads: 6,
        VocabSize: 32000, MaxSeqLen: SeqLen);

    private readonly LlamaForCausalLM model = new(Config);

    /// <inheritdoc />
    public string Name => "llama_small";

    /// <inheritdoc />
    public nn.Module Model => model;

    /// <inheritdoc />
    public long ItemsPerBatch => Batch * SeqLen;

    /// <inheritdoc />
    public (Tensor Input, Tensor Target) MakeBatch(Generator generator)
    {
        using var scope = NewDisposeScope();
        var tokens = randint(0, Config.VocabSize, [Batch, SeqLen + 1], dtype: int64, generator: generator);
        var input = tokens.narrow(1, 0, SeqLen).contiguous();          // (B, T)
        var target = tokens.narrow(1, 1, SeqLen).contiguous();         // (B, T)
        return (input.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor input, Tensor target)
    {
        using var scope = NewDisposeScope();
        var logits = model.call(input);                                // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, Config.VocabSize), target.view(-1)); // (B*T, V)
        return loss.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}

/// <summary>Creates workloads by name.</summary>
public static class BenchModels
{
    /// <summary>The workload names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["vit_tiny", "llama_small"];

    /// <summary>A new workload of that name; throws <see cref="ArgumentException"/> on an unknown one.</summary>
    public static IBenchModel Create(string name) => name switch
    {
        "vit_tiny" => new VitTinyBench(),
        "llama_small" => new LlamaSmallBench(),
        _ => throw new ArgumentException($"Unknown model '{name}'; known: {string.Join(", ", Names)}."),
    };
}
