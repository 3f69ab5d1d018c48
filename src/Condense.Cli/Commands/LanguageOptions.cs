using System.CommandLine;
using Condense.Language;

namespace Condense.Cli.Commands;

/// <summary>
/// The options every LLaMA command shares, with one meaning: --model, --tokenizer (resolved and loaded by
/// <see cref="LanguageModelFiles"/>) and --threads.
/// </summary>
internal static class LanguageOptions
{
    public static Option<string?> Model() => new("--model")
    {
        Description = $"llama2.c .bin file or Hugging Face folder (default: ../shared/{LanguageModelFiles.DefaultModel}).",
    };

    public static Option<string?> Tokenizer() => new("--tokenizer")
    {
        Description = $"llama2.c tokenizer (default: {LanguageModelFiles.TokenizerFileName} beside the model, else ../shared/{LanguageModelFiles.DefaultTokenizer}).",
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Torch intra-op threads; 0 = torch's default. These small models run fastest on 1.",
        DefaultValueFactory = _ => 1,
    };

    /// <summary>--engine: which engine runs a batch-1 LLaMA (auto = the faster one for the command, see docs/benchmarks.md).</summary>
    public static Option<string> Engine(string autoMeans) => new("--engine")
    {
        Description = $"torch (TorchSharp), native (Condense's SIMD engine) or auto ({autoMeans}).",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>Whether --engine asks for the native engine (auto resolves to <paramref name="autoIsNative"/>); anything else is a one-line error.</summary>
    public static bool UseNative(string engine, bool autoIsNative) => engine switch
    {
        "torch" => false,
        "native" => true,
        "auto" => autoIsNative,
        _ => throw new Condense.Core.InputException($"--engine '{engine}': expected auto, torch or native"),
    };

    /// <summary>The native engine over <paramref name="model"/>'s weights, on as many threads as --threads gave torch.</summary>
    public static Condense.Language.Native.NativeLlama NativeEngine(Condense.Language.Models.LlamaForCausalLM model) =>
        Condense.Language.Native.NativeLlama.FromModel(model, threads: Math.Max(1, TorchSharp.torch.get_num_threads()));

    /// <summary>Applies --threads (0 = torch's default, at most the machine's processors).</summary>
    public static void ApplyThreads(int threads) => Condense.Core.Runtime.TorchRuntime.SetThreads(threads);
}
