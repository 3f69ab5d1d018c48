using Condense.Core.Checkpoints;
using Condense.Language.Sparsity;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

public sealed class SparseCheckpointTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-sparse-");

    private string _dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Export_round_trips_masks_and_the_verifier_catches_a_corrupted_group()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var (masks, _) = OneShotPruner.Prune(model, OneShotMethod.Magnitude, null);
        var path = Path.Combine(_dir, "model.safetensors");
        SparseCheckpoint.Save(path, model.state_dict(), masks);

        var loaded = SparseCheckpoint.LoadMasks(path);
        Assert.Equal(masks.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, mask) in masks) Assert.True(loaded[name].eq(mask).all().item<bool>(), name);
        // 1 bit per weight: the mask file is about 1/32 of the pruned weights' fp32 bytes.
        long prunedBytes = PrunableLinears.Of(model).Sum(l => l.Weight.numel() * 4);
        Assert.InRange(new FileInfo(SparseCheckpoint.MaskPath(path)).Length, prunedBytes / 32, prunedBytes / 32 + 8192);

        var ok = SparseCheckpoint.Verify(path);
        Assert.True(ok.Ok, ok.Problem);
        Assert.Equal(35, ok.Tensors);
        Assert.True(ok.MaskFileChecked);

        // Corrupt one group: row 7, group 2 of layer 3's up_proj gets a third non-zero.
        var sd = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var up = sd["model.layers.3.mlp.up_proj.weight"];
        var zeroCol = (up[7].narrow(0, 8, 4) == 0).nonzero()[0, 0].item<long>();
        up[7, 8 + zeroCol] = tensor(0.5f);
        var bad = Path.Combine(_dir, "bad.safetensors");
        Safetensors.Save(bad, sd);
        var result = SparseCheckpoint.Verify(bad);
        Assert.False(result.Ok);
        Assert.Equal("model.layers.3.mlp.up_proj.weight: row 7 group 2 (input columns 8-11) has 3 non-zeros", result.Problem);
    }

    [Fact]
    public void Verifier_catches_a_weight_the_mask_file_drops()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var (masks, _) = OneShotPruner.Prune(model, OneShotMethod.Magnitude, null);
        // Still 2:4, but not the mask that the mask file claims: shift layer 0's q_proj mask of row 0, group 0.
        var q = masks["model.layers.0.self_attn.q_proj"];
        var wrong = q.clone();
        wrong[0].narrow(0, 0, 4).copy_(1 - q[0].narrow(0, 0, 4));
        var path = Path.Combine(_dir, "model.safetensors");
        SparseCheckpoint.Save(path, model.state_dict(), new Dictionary<string, Tensor>(masks) { ["model.layers.0.self_attn.q_proj"] = wrong });
        var result = SparseCheckpoint.Verify(path);
        Assert.False(result.Ok);
        Assert.StartsWith("model.layers.0.self_attn.q_proj.weight: row 0 group 0", result.Problem);
    }
}
