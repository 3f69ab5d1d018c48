using System.Text.Json.Nodes;
using Condense.Core;
using Condense.Language.Checkpoints;
using Condense.Language.Evaluation;
using Condense.Language.Generation;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests;

/// <summary>
/// Sizes read from files are bounded before anything is allocated, and a result that is not finite is an error
/// (issue 13): each case a hostile user tried is a named test here.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempFolder _temp = new("hostile-lm-");

    public void Dispose() => _temp.Dispose();

    private string HfCopy(string name, Action<JsonObject> edit)
    {
        var dir = Path.Combine(_temp.Path, name);
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(SharedModels.HfStories260KDir, HfLlamaCheckpoint.ConfigFile)))!.AsObject();
        edit(config);
        File.WriteAllText(Path.Combine(dir, HfLlamaCheckpoint.ConfigFile), config.ToJsonString());
        File.Copy(Path.Combine(SharedModels.HfStories260KDir, HfLlamaCheckpoint.WeightsFile), Path.Combine(dir, HfLlamaCheckpoint.WeightsFile));
        return dir;
    }

    [Fact]
    public void Llama2c_header_whose_size_product_wraps_to_the_file_size_is_refused_naming_the_field()
    {
        // The header: dim 2^30, 2^29 heads, vocab 536870905; in int64 the size product wraps to 8 KB.
        var path = Path.Combine(_temp.Path, "crafted.bin");
        var header = new[] { 1 << 30, 1, 1, 1 << 29, 1 << 29, 536870905, 1 };
        var bytes = new byte[8192];
        Buffer.BlockCopy(header, 0, bytes, 0, 28);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InputException>(() => Llama2cCheckpoint.Read(path));
        Assert.Contains("dim 1073741824 is implausibly large", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData(268435456)]
    [InlineData(int.MaxValue)]
    public void Config_with_an_implausible_position_count_is_refused_naming_max_position_embeddings(int positions)
    {
        var dir = HfCopy("positions", c => c["max_position_embeddings"] = positions);
        var ex = Assert.Throws<InputException>(() => HfLlamaCheckpoint.Read(dir));
        Assert.Contains($"max_position_embeddings {positions} is implausibly large", ex.Message);
    }

    [Fact]
    public void Long_position_range_allocates_only_what_is_used_and_gives_the_same_logits()
    {
        // 2^22 positions would be a 2 GB RoPE table if built up front; it is built only as far as a forward needs.
        var dir = HfCopy("long", c => c["max_position_embeddings"] = 1 << 22);
        using var scope = NewDisposeScope();
        using var longModel = HfLlamaCheckpoint.Read(dir);
        using var model = HfLlamaCheckpoint.Read(SharedModels.HfStories260KDir);
        var tokens = tensor(new long[] { 1, 403, 407, 261, 378, 300, 7, 9 }, [1, 8]);
        using var noGrad = no_grad();
        Assert.True(longModel.forward(tokens).equal(model.forward(tokens)).all().item<bool>());
    }

    [Fact]
    public void Config_describing_more_parameters_than_its_weights_hold_is_refused_before_allocation()
    {
        var dir = HfCopy("wide", c => { c["hidden_size"] = 65536; c["intermediate_size"] = 200000; });
        var ex = Assert.Throws<InputException>(() => HfLlamaCheckpoint.Read(dir));
        Assert.Contains("parameters, but the weight files hold only", ex.Message);
    }

    private static LlamaForCausalLM WithNaNEmbedding()
    {
        var model = SharedModels.LoadStories260K();
        using (no_grad()) model.state_dict()["model.embed_tokens.weight"][5].fill_(float.NaN);
        return model;
    }

    [Fact]
    public void NaN_weights_make_perplexity_an_error_not_a_result()
    {
        using var model = WithNaNEmbedding();
        var ex = Assert.Throws<NonFiniteResultException>(() => Perplexity.Evaluate(model, [[1, 5, 9, 12]]));
        Assert.Contains("NaN", ex.Message);
    }

    [Fact]
    public void NaN_weights_make_generation_an_error_naming_the_position()
    {
        using var model = WithNaNEmbedding();
        var ex = Assert.Throws<NonFiniteResultException>(() => LlamaGenerator.Generate(model, [1, 5], 8, new SamplingOptions()));
        Assert.Contains("a logit at position 1 is NaN", ex.Message);
    }

    [Fact]
    public void Tokenizer_path_that_is_a_folder_is_refused()
    {
        var ex = Assert.Throws<InputException>(() => Llama2cTokenizer.Load(_temp.Path, 512));
        Assert.Contains("is a folder", ex.Message);
    }

    [Fact]
    public void Config_key_written_twice_is_refused()
    {
        var dir = HfCopy("twice", _ => { });
        var path = Path.Combine(dir, HfLlamaCheckpoint.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("{", "{\"vocab_size\": 512, ", StringComparison.Ordinal));
        var ex = Assert.Throws<InputException>(() => HfLlamaCheckpoint.Read(dir));
        Assert.Contains("Duplicate property 'vocab_size'", ex.Message);
    }

    [Fact]
    public void Zero_attention_heads_is_refused_naming_the_field()
    {
        var dir = HfCopy("noheads", c => c["num_attention_heads"] = 0);
        var ex = Assert.Throws<InputException>(() => HfLlamaCheckpoint.Read(dir));
        Assert.Contains("num_attention_heads 0", ex.Message);
    }
}
