// Greedy decoding for the VLM with a KV cache: the prompt (image slots filled) in one pass, then one token at a time.
using Condense.Experts.Text;
using Condense.Experts.Training;
using static TorchSharp.torch;

namespace Condense.Experts.Inference;

/// <summary>Greedy generation from a tokenized conversation.</summary>
public static class VlmGenerator
{
    /// <summary>
    /// Tokens the model writes after <paramref name="conversation"/> until its end token or <paramref name="maxNewTokens"/>;
    /// <paramref name="onToken"/> sees each token as it is chosen (streaming).
    /// </summary>
    public static List<int> Greedy(TrainedVlm vlm, TokenizedConversation conversation, int maxNewTokens, Action<int>? onToken = null)
    {
        var model = vlm.Model;
        int pixels = model.Config.ImagePixels;
        long capacity = Math.Min(model.Config.MaxSeqLen, conversation.Tokens.Count + maxNewTokens);
        if (conversation.Tokens.Count >= model.Config.MaxSeqLen)
            throw new Core.InputException($"the conversation has {conversation.Tokens.Count} tokens; the model reads at most {model.Config.MaxSeqLen}");
        var output = new List<int>();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = model.Llm.NewCache(1, capacity);
        var batch = VlmBatch.Collate([conversation], pixels);
        var logits = model.Forward(batch.Tokens, batch.Images, cache);                 // (1, T, V)
        int next = (int)logits[0, -1].argmax().item<long>();
        while (true)
        {
            if (next == WordTokenizer.Eos) break;
            output.Add(next);
            onToken?.Invoke(next);
            if (output.Count >= maxNewTokens || cache.Length >= capacity) break;
            using var step = NewDisposeScope();
            var input = tensor(new long[] { next }, [1, 1]);
            next = (int)model.Forward(input, null, cache)[0, -1].argmax().item<long>();
        }
        return output;
    }
}
