using Condense.Language.Evaluation;
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Evaluation;

public sealed class TokenScoringTests
{
    [Fact]
    public void Padding_does_not_change_the_nll_of_real_tokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var model = new LlamaForCausalLM(new LlamaConfig(16, 32, 2, 4, 2, 40, 16));
        model.eval();
        var a = new[] { 1, 5, 9, 3, 7, 22 };
        var b = new[] { 1, 8, 2 };
        var (both, count) = TokenScoring.MeanNll(model, [a, b]);
        var (alone, countA) = TokenScoring.MeanNll(model, [a]);
        var (aloneB, countB) = TokenScoring.MeanNll(model, [b]);
        Assert.Equal(7, count);
        Assert.Equal(5, countA);
        Assert.Equal((alone * 5 + aloneB * 2) / 7, both, 5);
    }

    [Fact]
    public void Stories260K_scores_validation_text_near_its_published_loss()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var tok = SharedModels.Tok512;
        var docs = File.ReadAllText(SharedModels.ValidTextPath).Split("\n\n").Take(24)
            .Select(d => (IReadOnlyList<int>)tok.Encode(d.Trim(), bos: true).Take(512).ToArray()).ToList();
        var (nll, count) = TokenScoring.MeanNll(model, docs);
        Assert.True(count > 500);
        // Published validation loss 1.297 (on a different split of the same data set).
        Assert.InRange(nll, 1.0, 1.6);
    }
}
