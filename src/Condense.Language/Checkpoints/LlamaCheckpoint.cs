// One entry point for LLaMA checkpoints in either supported format, chosen by what the path is.
using Condense.Core;
using Condense.Language.Models;

namespace Condense.Language.Checkpoints;

/// <summary>Loads and saves LLaMA models as llama2.c files or Hugging Face directories.</summary>
public static class LlamaCheckpoint
{
    /// <summary>
    /// A directory (or its config.json / model.safetensors / index file) is read as Hugging Face, any other
    /// file as llama2.c version 0. The model is in eval mode.
    /// </summary>
    public static LlamaForCausalLM Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) return HfLlamaCheckpoint.Read(path);
        if (!File.Exists(path)) throw new InputException($"model not found: {path}");
        var name = Path.GetFileName(path);
        if (name is HfLlamaCheckpoint.ConfigFile or HfLlamaCheckpoint.IndexFile || name.EndsWith(".safetensors", StringComparison.Ordinal))
            return HfLlamaCheckpoint.Read(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return Llama2cCheckpoint.Read(path);
    }

    /// <summary>Saves as llama2.c when <paramref name="path"/> ends in ".bin", else as a Hugging Face directory.</summary>
    public static void Save(LlamaForCausalLM model, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) Llama2cCheckpoint.Write(model, path);
        else HfLlamaCheckpoint.Write(model, path);
    }

    /// <summary>
    /// An independent copy of <paramref name="model"/> (same config, every parameter and buffer copied, eval mode): what
    /// a method that edits weights in place starts from, without reading the checkpoint again.
    /// </summary>
    public static LlamaForCausalLM Copy(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copy = new LlamaForCausalLM(model.Config);
        try
        {
            var source = model.state_dict();
            using (TorchSharp.torch.no_grad())
                foreach (var (name, tensor) in copy.state_dict())
                    tensor.copy_(source[name]);
            copy.eval();
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }
}
