using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

/// <summary>The real stories260K model (Hugging Face copy in ../shared) and random calibration tokens.</summary>
internal static class SparsityFixtures
{
    public static readonly LlamaConfig Stories260K = new(Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKvHeads: 4,
        VocabSize: 512, MaxSeqLen: 512, TiedEmbeddings: true);

    public static LlamaForCausalLM LoadStories260K()
    {
        var model = new LlamaForCausalLM(Stories260K);
        model.LoadSafetensors(AssetPaths.RequireShared("models/hf/stories260K/model.safetensors"));
        model.eval();
        return model;
    }

    public static Tensor RandomTokens(int batch, int length, long seed)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        return randint(3, 512, [batch, length], dtype: int64, generator: g);
    }

    // Placeholder until the llama2.c tokenizer lands: random tokens.
    public static Condense.Language.Sparsity.TokenWindows RealText() =>
        new(Enumerable.Range(0, 50).Select(i => (IReadOnlyList<int>)RandomTokens(1, 100, i).data<long>().Select(t => (int)t).ToArray()));
}
