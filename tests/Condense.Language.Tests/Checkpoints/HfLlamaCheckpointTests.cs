using System.Text.Json.Nodes;
using Condense.Core;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Checkpoints;

public sealed class HfLlamaCheckpointTests : IDisposable
{
    private readonly TempFolder _temp = new("hf-llama-");

    private string dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Shared_hf_copy_gives_the_logits_of_the_llama2c_file()
    {
        using var scope = NewDisposeScope();
        using var llama2c = SharedModels.LoadStories260K();
        using var hf = LlamaCheckpoint.Load(SharedModels.HfStories260KDir);
        Assert.Equal(RopeLayout.RotateHalf, hf.Config.RopeLayout);
        Assert.Equal(llama2c.Config with { RopeLayout = RopeLayout.RotateHalf }, hf.Config);
        using var noGrad = no_grad();
        var tokens = tensor(SharedModels.Tok512.Encode(File.ReadAllText(SharedModels.ValidTextPath)[..3000], bos: true)
            .Take(512).Select(t => (long)t).ToArray()).view(1, -1);
        Assert.Equal(512, tokens.shape[1]);
        var a = llama2c.call(tokens);
        var b = hf.call(tokens);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-4), $"max diff {(a - b).abs().max().item<float>()}");
    }

    [Fact]
    public void Llama2c_to_hf_to_llama2c_is_byte_identical()
    {
        using var scope = NewDisposeScope();
        using (var model = Llama2cCheckpoint.Read(SharedModels.Stories260KPath))
            HfLlamaCheckpoint.Write(model, Path.Combine(dir, "hf"));
        using var hf = HfLlamaCheckpoint.Read(Path.Combine(dir, "hf"));
        // The q/k rows stored in HF order equal those of the published HF copy.
        using var shared = HfLlamaCheckpoint.Read(SharedModels.HfStories260KDir);
        var sd = shared.state_dict();
        foreach (var (name, t) in hf.state_dict())
            Assert.True(t.equal(sd[name]).all().item<bool>(), $"{name} differs from the shared HF copy");
        var back = Path.Combine(dir, "back.bin");
        Llama2cCheckpoint.Write(hf, back);
        Assert.Equal(File.ReadAllBytes(SharedModels.Stories260KPath), File.ReadAllBytes(back));
    }

    [Fact]
    public void Sharded_directories_are_written_and_read()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var model = new LlamaForCausalLM(new LlamaConfig(16, 24, 3, 4, 2, 40, 32));
        var target = Path.Combine(dir, "sharded");
        HfLlamaCheckpoint.Write(model, target, maxShardBytes: 4000);
        Assert.False(File.Exists(Path.Combine(target, HfLlamaCheckpoint.WeightsFile)));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(target, HfLlamaCheckpoint.IndexFile)))!;
        var files = index["weight_map"]!.AsObject().Select(kv => kv.Value!.GetValue<string>()).Distinct().ToList();
        Assert.True(files.Count > 2, $"expected several shards, got {files.Count}");
        using var back = LlamaCheckpoint.Load(target);
        var original = model.state_dict();
        foreach (var (name, t) in back.state_dict())
            Assert.True(t.equal(original[name]).all().item<bool>(), $"{name} differs");
        Assert.False(back.Config.TiedEmbeddings);
    }

    [Fact]
    public void Unsupported_or_inconsistent_configs_name_the_field()
    {
        using var scope = NewDisposeScope();
        var target = Path.Combine(dir, "bad");
        using (var model = new LlamaForCausalLM(new LlamaConfig(16, 24, 2, 4, 2, 40, 32)))
            HfLlamaCheckpoint.Write(model, target);
        var configPath = Path.Combine(target, HfLlamaCheckpoint.ConfigFile);
        var good = File.ReadAllText(configPath);
        void Expect(string key, JsonNode? value, string fragment)
        {
            var json = JsonNode.Parse(good)!.AsObject();
            json[key] = value;
            File.WriteAllText(configPath, json.ToJsonString());
            var ex = Assert.Throws<InputException>(() => HfLlamaCheckpoint.Read(target));
            Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
            Assert.Contains(target, ex.Message, StringComparison.Ordinal);
        }
        Expect("rope_theta", 500000.0, "rope_theta");
        Expect("hidden_size", null, "missing field \"hidden_size\"");
        Expect("intermediate_size", 25, "config.json implies");    // shapes no longer match the weights
        Expect("model_type", "mistral", "model_type");
    }
}
