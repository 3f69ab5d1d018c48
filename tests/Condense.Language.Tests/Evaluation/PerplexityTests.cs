using Condense.Core.Data;
using Condense.Language.Evaluation;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Evaluation;

public sealed class PerplexityTests
{
    [Fact]
    public void Documents_start_with_bos_and_are_cut_to_the_sequence_length()
    {
        var tok = SharedModels.Tok512;
        var docs = new[] { "Tom had a red ball.", string.Join(' ', Enumerable.Repeat("The dog ran.", 60)), "" };
        var (sequences, truncated) = Perplexity.Tokenize(tok, docs, 64);
        Assert.Equal(2, sequences.Count);                      // the empty document predicts nothing
        Assert.Equal(1, truncated);
        Assert.All(sequences, s => Assert.Equal(Llama2cTokenizer.Bos, s[0]));
        Assert.Equal(64, sequences[1].Length);
    }

    [Fact]
    public void Result_does_not_depend_on_batching()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var docs = TextCorpus.ReadDocuments(SharedModels.ValidTextPath).Take(10);
        var (sequences, _) = Perplexity.Tokenize(SharedModels.Tok512, docs, model.Config.MaxSeqLen);
        var one = Perplexity.Evaluate(model, sequences, batchTokens: 1);          // one document per batch
        var many = Perplexity.Evaluate(model, sequences);
        Assert.Equal(sequences.Sum(s => s.Length - 1L), many.Tokens);
        Assert.Equal(one.Tokens, many.Tokens);
        Assert.Equal(one.MeanNll, many.MeanNll, 5);
        Assert.Equal(Math.Exp(many.MeanNll), many.Perplexity, 9);
    }
}
