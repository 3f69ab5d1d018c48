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
    /// <summary>Default model, relative to the shared folder: the 260K-parameter TinyStories llama2.c model.</summary>
    public const string DefaultModel = "models/llama2c/stories260K.bin";
    /// <summary>Default tokenizer, relative to the shared folder: the 512-token llama2.c vocabulary.</summary>
    public const string DefaultTokenizer = "models/llama2c/tok512.bin";
    /// <summary>Default evaluation text, relative to the shared folder: the start of the TinyStories validation set.</summary>
    public const string DefaultEvalText = "data/tinystories/valid_first794KB.txt";
    /// <summary>Default calibration text, relative to the shared folder: part of the TinyStories training set.</summary>
    public const string DefaultCalibrationText = "data/tinystories/train_partA.txt";

    /// <summary><paramref name="path"/>, or the shared default <paramref name="sharedDefault"/> when null.</summary>
    public static string Resolve(string? path, string sharedDefault) =>
        string.IsNullOrEmpty(path) ? AssetPaths.Require(sharedDefault) : path;

    /// <summary>The tokenizer file every LLaMA command looks for beside a model when none is given.</summary>
    public const string TokenizerFileName = "tok512.bin";

    /// <summary>
    /// A model path, or the shared default when null: a llama2.c file, a Hugging Face folder, or a file inside one.
    /// A path that does not exist is an <see cref="InputException"/> naming it.
    /// </summary>
    public static string ResolveModel(string? modelPath)
    {
        var path = Resolve(modelPath, DefaultModel);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new InputException($"model not found: {path}");
        return path;
    }

    /// <summary>A model's short name: the llama2.c file name without extension, or the Hugging Face folder's name.</summary>
    public static string ModelName(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelPath));
        return Directory.Exists(full) ? Path.GetFileName(full) : Path.GetFileNameWithoutExtension(full);
    }

    /// <summary>
    /// The tokenizer for a model: <paramref name="tokenizerPath"/> when given; else tok512.bin beside the model file
    /// or inside its folder; else the shared default.
    /// </summary>
    public static string ResolveTokenizer(string? tokenizerPath, string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!string.IsNullOrEmpty(tokenizerPath)) return tokenizerPath;
        var folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var beside = Path.Combine(folder, TokenizerFileName);
        return File.Exists(beside) ? beside : AssetPaths.Require(DefaultTokenizer);
    }

    /// <summary>
    /// The one way a LLaMA input is loaded: the model (llama2.c file or Hugging Face folder; the shared default when
    /// null) and a tokenizer (<see cref="ResolveTokenizer"/>) whose vocabulary must match it.
    /// </summary>
    public static (LlamaForCausalLM Model, Llama2cTokenizer Tokenizer, string ModelPath, string TokenizerPath) Load(
        string? modelPath, string? tokenizerPath)
    {
        var path = ResolveModel(modelPath);
        var model = LlamaCheckpoint.Load(path);
        try
        {
            var tokPath = ResolveTokenizer(tokenizerPath, path);
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
