// Default locations of the shared TinyStories models and data, and loading a model with a tokenizer that is
// checked against it, so every language command resolves and validates paths the same way.
using Condense.Core;
using Condense.Core.IO;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Language.Tokenizers;

namespace Condense.Language;

/// <summary>Paths and loading of language models, tokenizers and texts under ../shared.</summary>
public static class LanguageModelFiles
{
    public const string DefaultModel = "models/llama2c/stories260K.bin";
    public const string DefaultTokenizer = "models/llama2c/tok512.bin";
    public const string DefaultEvalText = "data/tinystories/valid_first794KB.txt";
    public const string DefaultCalibrationText = "data/tinystories/train_partA.txt";

    /// <summary><paramref name="path"/>, or the shared default <paramref name="sharedDefault"/> when null.</summary>
    public static string Resolve(string? path, string sharedDefault) =>
        string.IsNullOrEmpty(path) ? AssetPaths.RequireShared(sharedDefault) : path;

    /// <summary>Loads a model (llama2.c file or HF directory) and a tokenizer whose vocabulary must match it.</summary>
    public static (LlamaForCausalLM Model, Llama2cTokenizer Tokenizer, string ModelPath, string TokenizerPath) Load(
        string? modelPath, string? tokenizerPath)
    {
        var path = Resolve(modelPath, DefaultModel);
        var model = LlamaCheckpoint.Load(path);
        try
        {
            var tokPath = Resolve(tokenizerPath, DefaultTokenizer);
            var tokenizer = Llama2cTokenizer.Load(tokPath, model.Config.VocabSize);
            return (model, tokenizer, path, tokPath);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Throws an <see cref="InputException"/> when <paramref name="path"/> does not exist.</summary>
    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path)) throw new InputException($"{what} not found: {path}");
    }
}
