using Condense.Core.Data;
using Condense.Language.Text;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

/// <summary>Real TinyStories text and random calibration tokens for the sparsity tests.</summary>
internal static class SparsityFixtures
{
    public static Tensor RandomTokens(int batch, int length, long seed)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        return randint(3, 512, [batch, length], dtype: int64, generator: g);
    }

    private static readonly Lazy<TokenCorpus> realText = new(() => TokenCorpus.FromDocuments(
        TextCorpus.ReadDocuments(SharedAssets.TrainTextPath).Take(40), SharedModels.Tok512));

    /// <summary>The first 40 stories of train_partA.txt, tokenized with tok512.</summary>
    public static TokenCorpus RealText() => realText.Value;
}
