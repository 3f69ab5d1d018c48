// The inputs Condense reads from files, each with a valid seed input and the code that reads it the way a command
// does (and then uses what it read: a forward pass, an encode, a sum over every tensor), so an input that loads
// but cannot be used counts too.
using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using Condense.Vision.Distillation;
using static TorchSharp.torch;

namespace Condense.Experiments.Reliability;

/// <summary>One kind of input file: how to make a mutated case of it in a folder, and how to read that case.</summary>
public abstract class FuzzTarget
{
    /// <summary>Short name (<c>safetensors</c>, <c>llama2c</c>, <c>tokenizer</c>, <c>config</c>, <c>hf-weights</c>, <c>recipe</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Writes the mutated case into <paramref name="folder"/>; returns what was changed.</summary>
    public abstract string Prepare(string folder, Random rng);

    /// <summary>Reads and uses the case written by <see cref="Prepare"/>.</summary>
    public abstract void Run(string folder);

    /// <summary>The file (or folder) a case is read from, kept when a case fails.</summary>
    public abstract string CasePath(string folder);

    /// <summary>Every target, with seeds from the shared models (stories260K, tok512) and the default recipe.</summary>
    public static IReadOnlyList<FuzzTarget> All() =>
    [
        new SafetensorsTarget(), new Llama2cTarget(), new TokenizerTarget(), new ConfigTarget(), new HfWeightsTarget(), new RecipeTarget(),
    ];

    /// <summary>Forwards a few tokens through <paramref name="model"/> (ids below its vocabulary).</summary>
    protected static void Use(LlamaForCausalLM model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = Math.Min(4, Math.Min(model.Config.VocabSize, model.Config.MaxSeqLen));
        var tokens = arange(n, ScalarType.Int64).unsqueeze(0);                 // (1, n)
        model.forward(tokens).sum().item<float>();
    }
}

/// <summary>A small safetensors file of three dtypes with metadata (header and data mutated).</summary>
internal sealed class SafetensorsTarget : FuzzTarget
{
    private readonly Lazy<byte[]> seed = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"condense-fuzz-seed-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        using (var scope = NewDisposeScope())
        {
            Safetensors.Save(path, new Dictionary<string, Tensor>
            {
                ["a.weight"] = arange(12, ScalarType.Float32).reshape(3, 4),
                ["b.bias"] = ones(5, ScalarType.Float16),
                ["c.index"] = arange(4, ScalarType.Int64).reshape(2, 2),
            }, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz seed" });
        }
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    });

    public override string Name => "safetensors";

    public override string CasePath(string folder) => Path.Combine(folder, "case.safetensors");

    public override string Prepare(string folder, Random rng)
    {
        var bytes = seed.Value;
        int header = 8 + (int)BitConverter.ToInt64(bytes, 0);
        File.WriteAllBytes(CasePath(folder), Mutator.MutateBinary(bytes, header, rng, out var what));
        return what;
    }

    public override void Run(string folder)
    {
        using var content = Safetensors.Load(CasePath(folder));
        using var scope = NewDisposeScope();
        foreach (var t in content.Tensors.Values) t.to_type(ScalarType.Float64).sum().item<double>();
    }
}

/// <summary>A single binary file from the shared folder, mutated with its first <c>headerBytes</c> as the header.</summary>
internal abstract class SharedBinaryTarget(string sharedPath, string caseFile, int headerBytes) : FuzzTarget
{
    private readonly Lazy<byte[]> seed = new(() => File.ReadAllBytes(AssetPaths.Require(sharedPath)));

    public override string CasePath(string folder) => Path.Combine(folder, caseFile);

    public override string Prepare(string folder, Random rng)
    {
        File.WriteAllBytes(CasePath(folder), Mutator.MutateBinary(seed.Value, headerBytes, rng, out var what));
        return what;
    }
}

/// <summary>stories260K as a llama2.c file (header of seven int32 and the weights).</summary>
internal sealed class Llama2cTarget() : SharedBinaryTarget("models/llama2c/stories260K.bin", "case.bin", 28)
{
    public override string Name => "llama2c";

    public override void Run(string folder)
    {
        using var model = LlamaCheckpoint.Load(CasePath(folder));
        Use(model);
    }
}

/// <summary>tok512.bin, the llama2.c tokenizer (max length, then score, length and bytes per piece).</summary>
internal sealed class TokenizerTarget() : SharedBinaryTarget("models/llama2c/tok512.bin", "tok.bin", 64)
{
    public override string Name => "tokenizer";

    public override void Run(string folder)
    {
        var tokenizer = Llama2cTokenizer.Load(CasePath(folder), 512);
        tokenizer.Decode(tokenizer.Encode("Once upon a time, Lily saw a big \"red\" ball."));
    }
}

/// <summary>
/// A copy of the Hugging Face stories260K folder with one of its two files mutated (<c>mutated</c>) and the other
/// intact; read and used as a LLaMA.
/// </summary>
internal abstract class HfFolderTarget(string caseDir, string mutated) : FuzzTarget
{
    private static string Shared(string file) => Path.Combine(AssetPaths.Require("models/hf/stories260K"), file);

    private readonly Lazy<byte[]> seed = new(() => File.ReadAllBytes(Shared(mutated)));

    public override string CasePath(string folder) => Path.Combine(folder, caseDir);

    /// <summary>A mutated copy of the seed file's bytes.</summary>
    protected abstract byte[] Mutate(byte[] seed, Random rng, out string description);

    public override string Prepare(string folder, Random rng)
    {
        var dir = CasePath(folder);
        Directory.CreateDirectory(dir);
        var intact = mutated == HfLlamaCheckpoint.ConfigFile ? HfLlamaCheckpoint.WeightsFile : HfLlamaCheckpoint.ConfigFile;
        if (!File.Exists(Path.Combine(dir, intact))) File.Copy(Shared(intact), Path.Combine(dir, intact));
        File.WriteAllBytes(Path.Combine(dir, mutated), Mutate(seed.Value, rng, out var what));
        return what;
    }

    public override void Run(string folder)
    {
        using var model = LlamaCheckpoint.Load(CasePath(folder));
        Use(model);
    }
}

/// <summary>The Hugging Face stories260K folder with its config.json mutated (weights intact).</summary>
internal sealed class ConfigTarget() : HfFolderTarget("hf", HfLlamaCheckpoint.ConfigFile)
{
    public override string Name => "config";

    protected override byte[] Mutate(byte[] seed, Random rng, out string description) =>
        System.Text.Encoding.UTF8.GetBytes(Mutator.MutateText(System.Text.Encoding.UTF8.GetString(seed), rng, out description));
}

/// <summary>The Hugging Face stories260K folder with its model.safetensors mutated (config intact).</summary>
internal sealed class HfWeightsTarget() : HfFolderTarget("hfw", HfLlamaCheckpoint.WeightsFile)
{
    public override string Name => "hf-weights";

    protected override byte[] Mutate(byte[] seed, Random rng, out string description) =>
        Mutator.MutateBinary(seed, 8 + (int)BitConverter.ToInt64(seed, 0), rng, out description);
}

/// <summary>The default distillation recipe as YAML, every key written out.</summary>
internal sealed class RecipeTarget : FuzzTarget
{
    private readonly Lazy<string> seed = new(() => RecipeLoader.ToYaml(RecipeLoader.LoadDefault()));

    public override string Name => "recipe";

    public override string CasePath(string folder) => Path.Combine(folder, "recipe.yaml");

    public override string Prepare(string folder, Random rng)
    {
        File.WriteAllText(CasePath(folder), Mutator.MutateText(seed.Value, rng, out var what));
        return what;
    }

    public override void Run(string folder) => RecipeLoader.Load(CasePath(folder));
}
