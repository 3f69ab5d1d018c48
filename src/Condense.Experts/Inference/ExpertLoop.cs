// VILA-M3's inference loop (the reference demo's process_prompt): a greedy first reply; if it names exactly one
// expert trigger, the expert runs on the original volume, its text (and overlay) is appended as the expert's turn with
// "Use this result to respond to this prompt", and the VLM answers again. One round only; an expert that fails, an
// unknown expert or several triggers become an error message in the answer, never an exception.
using Condense.Core;
using Condense.Experts.Experts;
using Condense.Experts.Training;

namespace Condense.Experts.Inference;

/// <summary>What one question went through.</summary>
/// <param name="FirstReply">The VLM's first reply.</param>
/// <param name="Trigger">The trigger it named, if any (and parsed).</param>
/// <param name="Expert">The expert's result, when one ran.</param>
/// <param name="Error">The error message, when the trigger or the expert failed.</param>
/// <param name="Answer">The final answer shown to the user.</param>
public sealed record LoopResult(string FirstReply, ExpertTrigger? Trigger, ExpertResult? Expert, string? Error, string Answer);

/// <summary>The question → trigger → expert → answer loop.</summary>
public sealed class ExpertLoop
{
    /// <summary>The reference's prefix for errors shown as the answer.</summary>
    public const string ErrorPrefix = "Sorry I met an error: ";

    private readonly Text.ConversationFormat format;
    private readonly bool textOnly;
    private readonly int maxSeqLen;
    private readonly Func<Text.TokenizedConversation, Action<string>?, string> generate;

    /// <summary>A loop over <paramref name="vlm"/> offering <paramref name="experts"/>.</summary>
    public ExpertLoop(TrainedVlm vlm, ExpertSet experts, int maxNewTokens = 32)
        : this(vlm.Format, experts, vlm.TextOnly, vlm.Model.Config.MaxSeqLen, maxNewTokens, (c, onText) => Generate(vlm, c, maxNewTokens, onText))
    {
    }

    /// <summary>A loop whose replies come from <paramref name="generate"/> (tests script the model's replies).</summary>
    internal ExpertLoop(Text.ConversationFormat format, ExpertSet experts, bool textOnly, int maxSeqLen, int maxNewTokens,
        Func<Text.TokenizedConversation, Action<string>?, string> generate)
    {
        this.format = format;
        this.textOnly = textOnly;
        this.maxSeqLen = maxSeqLen;
        this.generate = generate;
        Experts = experts;
        MaxNewTokens = maxNewTokens;
    }

    /// <summary>The experts the cards list.</summary>
    public ExpertSet Experts { get; }

    /// <summary>Most tokens per reply.</summary>
    public int MaxNewTokens { get; }

    /// <summary>
    /// Answers <paramref name="question"/> about <paramref name="image"/>; with <paramref name="useExperts"/> the model
    /// cards are offered and a trigger is followed. <paramref name="onText"/> streams each reply's text pieces.
    /// </summary>
    public LoopResult Ask(float[]? image, string question, ExpertContext context, bool useExperts, Action<string>? onText = null)
    {
        var conversation = format.Prompt(useExperts ? Experts.ModelCards() : null, textOnly ? null : image, question);
        string first = generate(conversation, onText);
        if (!useExperts) return new LoopResult(first, null, null, null, first);
        ExpertTrigger? trigger;
        try
        {
            trigger = Experts.ParseTrigger(first);
        }
        catch (ExpertException e)
        {
            return Failed(first, null, e.Message, onText);
        }
        if (trigger is null) return new LoopResult(first, null, null, null, first);
        ExpertResult result;
        try
        {
            result = Experts.Find(trigger.Name)!.Run(trigger.Arguments, context);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The reference shows any expert failure as the answer; a server keeps serving.
            return Failed(first, trigger, e is ExpertException or InputException ? e.Message : $"{trigger.Name} failed: {e.GetType().Name}: {e.Message}", onText);
        }
        format.AddReply(conversation, first, trained: false);
        format.AddExpertTurn(conversation, result.Text, textOnly ? null : result.Overlay, question);
        onText?.Invoke("\n");
        string answer = conversation.Tokens.Count + MaxNewTokens > maxSeqLen
            ? ErrorPrefix + "the conversation with the expert's result is longer than the model reads"
            : generate(conversation, onText);
        return new LoopResult(first, trigger, result, null, answer);
    }

    private LoopResult Failed(string first, ExpertTrigger? trigger, string message, Action<string>? onText)
    {
        string answer = ErrorPrefix + message;
        onText?.Invoke("\n" + answer);
        return new LoopResult(first, trigger, null, message, answer);
    }

    private static string Generate(TrainedVlm vlm, Text.TokenizedConversation conversation, int maxNewTokens, Action<string>? onText)
    {
        var streamed = new List<int>();
        var tokens = VlmGenerator.Greedy(vlm, conversation, maxNewTokens, onText is null ? null : t =>
        {
            string before = vlm.Tokenizer.Decode(streamed);
            streamed.Add(t);
            string after = vlm.Tokenizer.Decode(streamed);
            onText(after.StartsWith(before, StringComparison.Ordinal) ? after[before.Length..] : after);
        });
        return vlm.Tokenizer.Decode(tokens);
    }
}
