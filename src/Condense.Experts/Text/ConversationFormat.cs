// The conversation layout of VILA-M3's training data and inference loop, as token ids with a loss mask:
//   <s> [model cards] USER: <image>×N This is an MRI image. {question} ASSISTANT: {reply} </s>
// and, when the reply triggers an expert (the reference's expert turn and its instruction):
//   EXPERT: {expert text} [<image>×N overlay] Use this result to respond to this prompt: {question} ASSISTANT: {answer} </s>
// The loss covers the assistant's replies and their </s> only.
namespace Condense.Experts.Text;

/// <summary>A tokenized conversation: ids, which positions the loss trains, and how many images fill its image slots.</summary>
/// <param name="Tokens">Token ids.</param>
/// <param name="Trained">Per position, whether the next-token loss predicts this token.</param>
/// <param name="Images">Images in slot order (each fills <see cref="ConversationFormat.ImageTokens"/> slots).</param>
public sealed record TokenizedConversation(List<int> Tokens, List<bool> Trained, List<float[]> Images);

/// <summary>Builds conversations token by token.</summary>
public sealed class ConversationFormat
{
    /// <summary>The modality sentence the reference adds after the image.</summary>
    public const string ModalityText = "This is an MRI image.";

    /// <summary>The reference's instruction after an expert's result.</summary>
    public const string ExpertInstruction = "Use this result to respond to this prompt:";

    private readonly WordTokenizer tokenizer;

    /// <summary>A format writing <paramref name="imageTokens"/> slots per image.</summary>
    public ConversationFormat(WordTokenizer tokenizer, int imageTokens)
    {
        this.tokenizer = tokenizer;
        ImageTokens = imageTokens;
    }

    /// <summary>Image slots per image.</summary>
    public int ImageTokens { get; }

    /// <summary>The tokenizer.</summary>
    public WordTokenizer Tokenizer => tokenizer;

    /// <summary>The prompt up to the first reply: cards (if any), the image (if any) and the question.</summary>
    public TokenizedConversation Prompt(string? modelCards, float[]? image, string question)
    {
        var c = new TokenizedConversation([WordTokenizer.Bos], [false], []);
        if (modelCards is not null) Add(c, modelCards, false);
        Add(c, "USER:", false);
        if (image is not null) AddImage(c, image);
        Add(c, (image is not null ? ModalityText + " " : "") + question + " ASSISTANT:", false);
        return c;
    }

    /// <summary>Appends an assistant reply and its end token (trained when <paramref name="trained"/>).</summary>
    public void AddReply(TokenizedConversation c, string reply, bool trained = true)
    {
        Add(c, reply, trained);
        c.Tokens.Add(WordTokenizer.Eos);
        c.Trained.Add(trained);
    }

    /// <summary>Appends the expert's turn: its text, its overlay (if any), and the instruction with the question.</summary>
    public void AddExpertTurn(TokenizedConversation c, string expertText, float[]? overlay, string question)
    {
        Add(c, "EXPERT: " + expertText, false);
        if (overlay is not null) AddImage(c, overlay);
        Add(c, ExpertInstruction + " " + question + " ASSISTANT:", false);
    }

    /// <summary>The reply that triggers <paramref name="trigger"/>, in the reference's wording.</summary>
    public static string TriggerReply(string trigger) => $"Let me first trigger {trigger}.";

    private void Add(TokenizedConversation c, string text, bool trained)
    {
        foreach (int t in tokenizer.Encode(text))
        {
            c.Tokens.Add(t);
            c.Trained.Add(trained);
        }
    }

    private void AddImage(TokenizedConversation c, float[] image)
    {
        for (int i = 0; i < ImageTokens; i++)
        {
            c.Tokens.Add(WordTokenizer.Image);
            c.Trained.Add(false);
        }
        c.Images.Add(image);
    }
}
