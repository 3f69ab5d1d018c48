// Collation: conversations to padded token ids (B, T), next-token targets (B, T) with -100 where no loss applies,
// and the images of all rows stacked in slot order (N, 3, S, S).
using Condense.Experts.Text;
using static TorchSharp.torch;

namespace Condense.Experts.Training;

/// <summary>A collated batch.</summary>
/// <param name="Tokens">(B, T) int64, right-padded with <see cref="WordTokenizer.Pad"/>.</param>
/// <param name="Targets">(B, T) int64: the next token where the loss applies, -100 elsewhere.</param>
/// <param name="Images">(N, 3, S, S) float32, or null when the batch holds no image.</param>
public sealed record VlmBatch(Tensor Tokens, Tensor Targets, Tensor? Images) : IDisposable
{
    /// <summary>Collates <paramref name="conversations"/> with images <paramref name="pixels"/> wide.</summary>
    public static VlmBatch Collate(IReadOnlyList<TokenizedConversation> conversations, int pixels)
    {
        int B = conversations.Count, T = conversations.Max(c => c.Tokens.Count);
        var tokens = new long[B * T];
        var targets = new long[B * T];
        Array.Fill(targets, -100);
        for (int b = 0; b < B; b++)
        {
            var c = conversations[b];
            for (int t = 0; t < c.Tokens.Count; t++)
            {
                tokens[b * T + t] = c.Tokens[t];
                if (t + 1 < c.Tokens.Count && c.Trained[t + 1]) targets[b * T + t] = c.Tokens[t + 1];
            }
        }
        var images = conversations.SelectMany(c => c.Images).ToList();
        return new VlmBatch(tensor(tokens, [B, T]), tensor(targets, [B, T]), images.Count > 0 ? StackImages(images, pixels) : null);
    }

    /// <summary>(N, 3, S, S) from N channel-major images.</summary>
    public static Tensor StackImages(IReadOnlyList<float[]> images, int pixels)
    {
        var flat = new float[images.Count * 3 * pixels * pixels];
        for (int n = 0; n < images.Count; n++) images[n].CopyTo(flat, n * 3 * pixels * pixels);
        return tensor(flat, [images.Count, 3, pixels, pixels]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Targets.Dispose();
        Images?.Dispose();
    }
}
