using Condense.Language.Checkpoints;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Checkpoints;

/// <summary>The one LLaMA input path: an in-memory copy instead of re-reading, and the tokenizer found the same way for every format.</summary>
public sealed class LlamaCheckpointCopyTests
{
    [Fact]
    public void A_copy_gives_the_same_logits_and_owns_its_weights()
    {
        using var scope = NewDisposeScope();
        using var original = SharedModels.LoadStories260K();
        using var copy = LlamaCheckpoint.Copy(original);
        Assert.Equal(original.Config, copy.Config);
        using var noGrad = no_grad();
        var tokens = tensor(SharedModels.Tok512.Encode("Once upon a time, there was a dog.", bos: true).Select(t => (long)t).ToArray()).view(1, -1);
        Assert.Equal(0f, (original.call(tokens) - copy.call(tokens)).abs().max().item<float>());
        copy.OutputWeight.zero_();                                         // editing the copy leaves the original alone
        Assert.True(original.OutputWeight.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void The_tokenizer_is_found_beside_a_llama2c_file_and_falls_back_to_the_shared_one_for_a_folder()
    {
        Assert.Equal(Path.Combine(Path.GetDirectoryName(SharedModels.Stories260KPath)!, "tok512.bin"),
            LanguageModelFiles.ResolveTokenizer(null, SharedModels.Stories260KPath));
        Assert.Equal(Path.GetFullPath(Condense.Core.IO.AssetPaths.Require(LanguageModelFiles.DefaultTokenizer)),
            Path.GetFullPath(LanguageModelFiles.ResolveTokenizer(null, SharedModels.HfStories260KDir)));
        Assert.Equal("given.bin", LanguageModelFiles.ResolveTokenizer("given.bin", SharedModels.HfStories260KDir));
        Assert.Equal("stories260K", LanguageModelFiles.ModelName(SharedModels.HfStories260KDir + "/"));
        Assert.Equal("stories260K", LanguageModelFiles.ModelName(SharedModels.Stories260KPath));
        var missing = Assert.Throws<Condense.Core.InputException>(() => LanguageModelFiles.ResolveModel("no/such/model.bin"));
        Assert.Equal("model not found: no/such/model.bin", missing.Message);
    }
}
