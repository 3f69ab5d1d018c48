// The export of a 2:4 model: the weights with the masks applied, as an ordinary safetensors state dict (so any
// LLaMA loader reads it), plus a compact mask file beside it, `<name>.mask24.safetensors`, holding for every pruned
// linear its candidate indices packed two per byte (TwoFour.Pack: 1 bit per weight) under the weight's own name.
// The verifier reads only the files, never a model: every decoder-layer linear of the state dict must keep at
// most 2 non-zeros in each group of 4 input columns, and, when the mask file is there, its masks must be valid
// and cover every non-zero weight.
using Condense.Core;
using Condense.Core.Checkpoints;
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Writes and checks sparse 2:4 checkpoints.</summary>
public static class SparseCheckpoint
{
    /// <summary>Metadata key naming the sparsity pattern.</summary>
    public const string SparsityKey = "sparsity";

    /// <summary>The mask file beside <paramref name="modelPath"/>.</summary>
    public static string MaskPath(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!,
            Path.GetFileNameWithoutExtension(modelPath) + ".mask24.safetensors");

    /// <summary>
    /// Writes <paramref name="stateDict"/> (pruned weights already masked) to <paramref name="modelPath"/> and the packed
    /// <paramref name="masks"/> (weight-shaped 0/1, by linear module name) beside it. Both writes are atomic.
    /// </summary>
    public static void Save(string modelPath, IReadOnlyDictionary<string, Tensor> stateDict,
        IReadOnlyDictionary<string, Tensor> masks, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [SparsityKey] = "2:4 along the input dimension" };
        Safetensors.Save(modelPath, stateDict, meta);
        SaveMasks(modelPath, masks);
    }

    /// <summary>Writes the packed <paramref name="masks"/> (weight-shaped 0/1, by linear module name) beside <paramref name="modelPath"/>.</summary>
    public static void SaveMasks(string modelPath, IReadOnlyDictionary<string, Tensor> masks)
    {
        using var scope = NewDisposeScope();
        var packed = masks.ToDictionary(m => m.Key + ".weight", m => TwoFour.Pack(TwoFour.ToIndices(m.Value)));
        Safetensors.Save(MaskPath(modelPath), packed, new Dictionary<string, string>
        {
            [SparsityKey] = "2:4 along the input dimension",
            ["encoding"] = "per group of 4 input columns, index 0-5 into [1100,1010,1001,0110,0101,0011], two groups per byte, low nibble first",
        });
    }

    /// <summary>Reads the hard masks (weight-shaped 0/1, by linear module name) of <paramref name="modelPath"/>'s mask file.</summary>
    public static Dictionary<string, Tensor> LoadMasks(string modelPath)
    {
        var maskPath = MaskPath(modelPath);
        if (!File.Exists(maskPath)) throw new InputException($"{maskPath}: mask file not found");
        using var model = Safetensors.Load(modelPath);
        using var packed = Safetensors.Load(maskPath);
        var masks = new Dictionary<string, Tensor>();
        foreach (var (name, bytes) in packed.Tensors)
        {
            if (!model.Tensors.TryGetValue(name, out var weight))
                throw new InputException($"{maskPath}: mask '{name}' names no tensor of {modelPath}");
            try
            {
                var indices = TwoFour.Unpack(bytes, weight.numel() / TwoFour.M);
                masks[name[..^".weight".Length]] = TwoFour.FromIndices(indices, weight.shape);
            }
            catch (ArgumentException e)
            {
                throw new InputException($"{maskPath}: mask '{name}': {e.Message}");
            }
        }
        return masks;
    }

    /// <summary>
    /// Checks <paramref name="modelPath"/>: every pruned linear exactly 2:4 along the input dimension and, when the
    /// mask file exists, consistent with it. Returns what was checked; the first problem is in <see cref="VerifyResult.Problem"/>.
    /// </summary>
    public static VerifyResult Verify(string modelPath)
    {
        using var scope = NewDisposeScope();
        using var content = Safetensors.Load(modelPath);
        var pruned = content.Tensors.Where(t => PrunableLinears.IsPrunedWeight(t.Key)).OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        if (pruned.Count == 0)
            return new VerifyResult(modelPath, 0, 0, false, $"{modelPath}: no decoder-layer linear weights (model.layers.N.self_attn.q_proj.weight, ...) found");
        var maskPath = MaskPath(modelPath);
        var masks = File.Exists(maskPath) ? LoadMasks(modelPath) : null;
        long weights = 0;
        foreach (var (name, weight) in pruned)
        {
            if (weight.dim() != 2 || weight.shape[1] % TwoFour.M != 0)
                return new VerifyResult(modelPath, pruned.Count, weights, masks is not null, $"{name}: shape [{string.Join(", ", weight.shape)}] cannot be 2:4 along the input dimension");
            var violation = TwoFour.FirstViolation(weight);
            if (violation is not null)
                return new VerifyResult(modelPath, pruned.Count, weights, masks is not null, $"{name}: {violation}");
            if (masks is not null)
            {
                if (!masks.TryGetValue(name[..^".weight".Length], out var mask))
                    return new VerifyResult(modelPath, pruned.Count, weights, true, $"{maskPath}: no mask for {name}");
                var stray = ((weight != 0) & (mask == 0)).nonzero();
                if (stray.shape[0] > 0)
                {
                    long r = stray[0, 0].item<long>(), c = stray[0, 1].item<long>();
                    return new VerifyResult(modelPath, pruned.Count, weights, true,
                        $"{name}: row {r} group {c / TwoFour.M} (input column {c}) is non-zero where the mask file drops it");
                }
            }
            weights += weight.numel();
        }
        return new VerifyResult(modelPath, pruned.Count, weights, masks is not null, null);
    }
}

/// <summary>The verifier's findings: tensors and weights checked, whether a mask file was checked, and the first problem (null when valid).</summary>
public sealed record VerifyResult(string Path, int Tensors, long Weights, bool MaskFileChecked, string? Problem)
{
    /// <summary>True when no problem was found.</summary>
    public bool Ok => Problem is null;
}
