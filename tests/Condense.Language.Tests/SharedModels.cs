using Condense.Core.IO;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Language.Tokenizers;

namespace Condense.Language.Tests;

/// <summary>The real llama2.c models and data from ../shared (read once per test run).</summary>
internal static class SharedModels
{
    public static string Stories260KPath => AssetPaths.RequireShared("models/llama2c/stories260K.bin");
    public static string Llama2xsPath => AssetPaths.RequireShared("models/llama2c/llama2xs_tinystories.bin");
    public static string Tok512Path => AssetPaths.RequireShared("models/llama2c/tok512.bin");
    public static string HfStories260KDir => AssetPaths.RequireShared("models/hf/stories260K");
    public static string ValidTextPath => AssetPaths.RequireShared("data/tinystories/valid_first794KB.txt");

    private static readonly Lazy<Llama2cTokenizer> tok512 = new(() => Llama2cTokenizer.Load(Tok512Path, 512));

    public static Llama2cTokenizer Tok512 => tok512.Value;

    /// <summary>A fresh copy of stories260K in eval mode (the caller disposes it).</summary>
    public static LlamaForCausalLM LoadStories260K() => Llama2cCheckpoint.Read(Stories260KPath);
}
