using Condense.Core;
using Condense.Core.Data;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Experts.Text;
using Condense.Experts.Training;
using Condense.Testing;

namespace Condense.Experts.Tests;

public class TriggerAndTokenizerTests
{
    // An untrained segmenter writes the same kind of text a trained one does.
    private static readonly ExpertSet Experts = new([new AtlasExpert(), new SegmentExpert(new LobeSegmenter(Lobes.Names.Count), 64)]);

    [Fact]
    public void Exactly_one_known_trigger_is_accepted()
    {
        Assert.Null(Experts.ParseTrigger("left"));
        Assert.Equal(new ExpertTrigger("ATLAS", "Precentral_L, Rectus_R"), Experts.ParseTrigger("Let me first trigger <ATLAS(Precentral_L, Rectus_R)>."));
        Assert.Contains("exactly one", Assert.Throws<ExpertException>(() => Experts.ParseTrigger("<ATLAS(point)> and <ATLAS(area)>")).Message);
        var unknown = Assert.Throws<ExpertException>(() => Experts.ParseTrigger("Let me first trigger <BRATS()>."));
        Assert.Contains("unknown expert BRATS", unknown.Message);
        Assert.StartsWith("Here is a list of available expert models: <ATLAS(args)>", Experts.ModelCards());
    }

    [Fact]
    public void Every_generated_conversation_of_every_stage_is_in_the_vocabulary_and_decodes_back()
    {
        var atlas = ColinAtlas.Value;
        var tokenizer = WordTokenizer.Train(VlmVocabulary.Corpus(atlas, Experts));
        var format = new ConversationFormat(tokenizer, 16);
        var factory = new ConversationFactory(atlas, Experts, format, 32);
        var split = new BrainSplit(atlas, [SlicePlane.Axial, SlicePlane.Coronal]);
        var questions = new BrainQuestions(atlas, split, evaluation: true, new AugmentOptions());
        var rng = new SplitMix64(5);
        for (int n = 0; n < 240; n++)
        {
            var s = questions.Sample(BrainQuestions.Families[n % BrainQuestions.Families.Count], ref rng);
            var (view, intensity) = questions.DrawView(ref rng);
            foreach (var c in new[] { factory.ExpertGuided(s), factory.Direct(s, false), factory.Caption(view, intensity, questions.Counts(view), split.HeldOut, questions.RandomMarker(view, MarkerKind.Area, ref rng)) })
            {
                Assert.DoesNotContain(WordTokenizer.Unk, c.Tokens);
                Assert.Equal(c.Tokens.Count(t => t == WordTokenizer.Image), 16 * c.Images.Count);
            }
            foreach (var text in new[] { s.Question, s.Answer, ConversationFormat.TriggerReply(s.Trigger?.ToString() ?? "<ATLAS(point)>") })
                Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
        Assert.InRange(tokenizer.Count, 100, 400);
    }

    [Fact]
    public void The_loss_trains_only_the_assistant_replies()
    {
        var tokenizer = WordTokenizer.Train(["USER: ASSISTANT: EXPERT: yes no Is it ? .", ConversationFormat.ModalityText]);
        var format = new ConversationFormat(tokenizer, 4);
        var c = format.Prompt(null, new float[3 * 8 * 8], "Is it?");
        format.AddReply(c, "yes");
        using var batch = VlmBatch.Collate([c, format.Prompt(null, null, "Is it?")], 8);
        var targets = batch.Targets.data<long>().ToArray();
        int T = (int)batch.Tokens.shape[1];
        var trained = Enumerable.Range(0, T).Where(t => targets[t] != -100).ToList();
        Assert.Equal([T - 3, T - 2], trained);   // predicts "yes" and "</s>" from the two positions before them
        Assert.Equal(tokenizer.Encode("yes")[0], targets[T - 3]);
        Assert.Equal(WordTokenizer.Eos, targets[T - 2]);
        Assert.All(targets.Skip(T), t => Assert.Equal(-100, t));   // the prompt-only row trains nothing
        Assert.Equal([1, 3, 8, 8], batch.Images!.shape);
    }

    [Fact]
    public void A_bad_vocabulary_file_is_named()
    {
        using var temp = new TempFolder();
        var path = temp.Write("tokenizer.json", "{\"not\": 1}"u8.ToArray());
        Assert.Contains("tokenizer.json", Assert.Throws<InputException>(() => WordTokenizer.Load(path)).Message);
    }
}
