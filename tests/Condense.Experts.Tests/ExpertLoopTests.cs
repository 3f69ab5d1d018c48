using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Inference;
using Condense.Experts.Text;

namespace Condense.Experts.Tests;

public class ExpertLoopTests
{
    private sealed class FailingExpert : IExpert
    {
        public string Name => "BROKEN";
        public string ModelCard => "<BROKEN(args)> : always fails.";
        public ExpertResult Run(string arguments, ExpertContext context) => throw new InvalidOperationException("disk on fire");
    }

    // The loop with scripted replies: what the model "says" first and after the expert's turn.
    private static (ExpertLoop Loop, List<TokenizedConversation> Seen) Scripted(params string[] replies)
    {
        var experts = new ExpertSet([new AtlasExpert(), new FailingExpert()]);
        var tokenizer = WordTokenizer.Train(VlmVocabulary.Corpus(ColinAtlas.Value, experts));
        var format = new ConversationFormat(tokenizer, 4);
        var seen = new List<TokenizedConversation>();
        int next = 0;
        var loop = new ExpertLoop(format, experts, textOnly: false, maxSeqLen: 1024, maxNewTokens: 32, (c, _) =>
        {
            seen.Add(new TokenizedConversation([.. c.Tokens], [.. c.Trained], [.. c.Images]));
            return replies[next++];
        });
        return (loop, seen);
    }

    private static ExpertContext Context(Marker? marker) =>
        new(ColinAtlas.Value, new SliceView(SlicePlane.Axial, 90), marker, new float[3 * 16 * 16], 16);

    [Fact]
    public void A_trigger_runs_the_expert_on_the_volume_and_the_model_answers_with_its_result()
    {
        var (loop, seen) = Scripted("Let me first trigger <ATLAS(point)>.", "Precentral_L");
        var marker = new Marker(MarkerKind.Point, 60, 120, 90);
        var result = loop.Ask(new float[3 * 16 * 16], "Which region lies at the marked point?", Context(marker), useExperts: true);
        Assert.Equal(new ExpertTrigger("ATLAS", "point"), result.Trigger);
        Assert.Equal("Precentral_L", result.Answer);
        Assert.Null(result.Error);
        Assert.Equal(2, seen.Count);
        var tokenizer = WordTokenizer.Train(VlmVocabulary.Corpus(ColinAtlas.Value, loop.Experts));
        string second = tokenizer.Decode(seen[1].Tokens);
        Assert.Contains(result.Expert!.Text, second);
        Assert.Contains(ConversationFormat.ExpertInstruction + " Which region lies at the marked point?", second);
        Assert.StartsWith("Here is a list of available expert models:", tokenizer.Decode(seen[0].Tokens));
        Assert.Equal(2, seen[1].Images.Count);   // the slice and the expert's overlay
    }

    [Theory]
    [InlineData("Let me first trigger <NOSUCH(x)>.", "unknown expert NOSUCH")]
    [InlineData("<ATLAS(point)> <ATLAS(area)>", "exactly one")]
    [InlineData("Let me first trigger <ATLAS(area)>.", "needs a marked area")]
    [InlineData("Let me first trigger <BROKEN()>.", "BROKEN failed: InvalidOperationException: disk on fire")]
    public void Errors_become_the_answer_and_the_model_is_not_asked_again(string first, string message)
    {
        var (loop, seen) = Scripted(first);
        var result = loop.Ask(null, "Which region lies at the marked point?", Context(new Marker(MarkerKind.Point, 60, 120, 90)), useExperts: true);
        Assert.StartsWith(ExpertLoop.ErrorPrefix, result.Answer);
        Assert.Contains(message, result.Answer);
        Assert.Single(seen);
    }

    [Fact]
    public void Without_experts_or_without_a_trigger_the_first_reply_is_the_answer()
    {
        var (loop, seen) = Scripted("left", "right");
        Assert.Equal("left", loop.Ask(null, "Which hemisphere is the marked point in?", Context(null), useExperts: true).Answer);
        var direct = loop.Ask(null, "Which hemisphere is the marked point in?", Context(null), useExperts: false);
        Assert.Equal("right", direct.Answer);
        var tokenizer = WordTokenizer.Train(VlmVocabulary.Corpus(ColinAtlas.Value, loop.Experts));
        Assert.DoesNotContain("expert models", tokenizer.Decode(seen[1].Tokens));
    }
}
