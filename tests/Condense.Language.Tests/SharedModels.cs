using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using Condense.Testing;

namespace Condense.Language.Tests;

/// <summary>The real llama2.c models and data from ../shared (read once per test run).</summary>
internal static class SharedModels
{
    public static string Stories260KPath => SharedAssets.Stories260KPath;
    public static string Llama2xsPath => SharedAssets.Llama2xsPath;
    public static string Tok512Path => SharedAssets.Tok512Path;
    public static string HfStories260KDir => SharedAssets.HfStories260KDir;
    public static string ValidTextPath => SharedAssets.ValidTextPath;

    private static readonly Lazy<Llama2cTokenizer> tok512 = new(() => Llama2cTokenizer.Load(Tok512Path, 512));

    public static Llama2cTokenizer Tok512 => tok512.Value;

    /// <summary>A fresh copy of stories260K in eval mode (the caller disposes it).</summary>
    public static LlamaForCausalLM LoadStories260K() => Llama2cCheckpoint.Read(Stories260KPath);
}
