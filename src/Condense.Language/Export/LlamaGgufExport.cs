// A Condense LLaMA as a GGUF file that llama.cpp (and Ollama, LLamaSharp) loads: architecture "llama", the
// llama2.c tokenizer as a sentencepiece ("llama") vocabulary, tensors named as llama.cpp's convert_hf_to_gguf.py
// names them.
//
// Layout facts (checked in tests by running the file in llama.cpp through LLamaSharp): llama.cpp's "llama" RoPE rotates
// adjacent pairs, which is llama2.c's (and Meta's) q/k row order, so llama2.c weights go in unchanged and Hugging Face
// (rotate-half) weights are un-permuted; output.weight is written even when the classifier is tied; token pieces use
// "▁" for spaces, BOS/EOS are the control pieces <s> and </s>, <unk> is the unknown piece, and <0xXX> pieces are
// byte tokens.
//
// Deviations (what GGUF's llama architecture cannot hold): per-layer widths (elastic sub-networks) are padded back to
// full width with zero units (LayerWidthPadding: the same function at the full model's cost); a removed sub-layer is
// written as zero weights (a zero o_proj or down_proj adds nothing to the residual stream), and a layer whose
// attention and MLP are both removed is left out. Recovery stand-ins of depth pruning are not exported.
using System.Text;
using Condense.Core;
using Condense.Core.IO.Gguf;
using Condense.Language.Checkpoints;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Language.Export;

/// <summary>What an export wrote.</summary>
/// <param name="Path">The GGUF file.</param>
/// <param name="Dtype">Requested weight encoding.</param>
/// <param name="Bytes">File size.</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="Layers">Blocks written (fewer than the model's when whole layers were pruned).</param>
/// <param name="TensorTypes">Tensors per ggml type.</param>
public sealed record GgufExportResult(string Path, GgufDtype Dtype, long Bytes, int Tensors, int Layers, IReadOnlyDictionary<string, int> TensorTypes);

/// <summary>Writes LLaMA models as GGUF.</summary>
public static class LlamaGgufExport
{
    /// <summary>GGUF token types (llama_token_type).</summary>
    public const int TokenNormal = 1, TokenUnknown = 2, TokenControl = 3, TokenByte = 6;

    /// <summary>Exports <paramref name="model"/> with <paramref name="tokenizer"/> to <paramref name="path"/> (atomically).</summary>
    public static GgufExportResult Write(LlamaForCausalLM model, Llama2cTokenizer tokenizer, string path, GgufDtype dtype, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw new InputException($"the tokenizer has {tokenizer.VocabSize} tokens, the model's vocabulary is {model.Config.VocabSize}");
        if (model.Config.HasLayerWidths)
        {
            using var padded = LayerWidthPadding.PadToFullWidth(model);
            return Write(padded, tokenizer, path, dtype, name);
        }
        var writer = Build(model, tokenizer, dtype, name, out int layers);
        writer.Save(path);
        var types = writer.Tensors.GroupBy(t => t.Type.ToString().ToLowerInvariant()).ToDictionary(g => g.Key, g => g.Count());
        return new GgufExportResult(System.IO.Path.GetFullPath(path), dtype, new FileInfo(path).Length, writer.Tensors.Count, layers, types);
    }

    /// <summary>The GGUF metadata and tensors of <paramref name="model"/> (full width, no per-layer widths).</summary>
    public static GgufWriter Build(LlamaForCausalLM model, Llama2cTokenizer tokenizer, GgufDtype dtype, string name, out int layerCount)
    {
        var config = model.Config;
        if (config.HasLayerWidths) throw new ArgumentException("pad per-layer widths first (LayerWidthPadding)", nameof(model));
        var kept = Enumerable.Range(0, config.NLayers).Where(l => config.HasAttention(l) || config.HasMlp(l)).ToList();
        if (kept.Count == 0) throw new InputException("every sub-layer of the model is removed; there is nothing to export");
        layerCount = kept.Count;
        var w = new GgufWriter();
        w.Set("general.architecture", GgufValue.Of("llama"));
        w.Set("general.name", GgufValue.Of(name));
        w.Set("general.file_type", GgufValue.OfUInt32(dtype switch { GgufDtype.F32 => 0u, GgufDtype.F16 => 1u, _ => 7u }));
        w.Set("general.quantization_version", GgufValue.OfUInt32(2));
        w.Set("llama.context_length", GgufValue.OfUInt32((uint)config.MaxSeqLen));
        w.Set("llama.embedding_length", GgufValue.OfUInt32((uint)config.Dim));
        w.Set("llama.block_count", GgufValue.OfUInt32((uint)kept.Count));
        w.Set("llama.feed_forward_length", GgufValue.OfUInt32((uint)config.HiddenDim));
        w.Set("llama.rope.dimension_count", GgufValue.OfUInt32((uint)config.HeadDim));
        w.Set("llama.rope.freq_base", GgufValue.OfFloat32((float)LlamaConfig.RopeTheta));
        w.Set("llama.attention.head_count", GgufValue.OfUInt32((uint)config.NHeads));
        w.Set("llama.attention.head_count_kv", GgufValue.OfUInt32((uint)config.NKvHeads));
        w.Set("llama.attention.layer_norm_rms_epsilon", GgufValue.OfFloat32((float)config.NormEps));
        w.Set("llama.vocab_size", GgufValue.OfUInt32((uint)config.VocabSize));
        AddVocabulary(w, tokenizer);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool permute = config.RopeLayout == RopeLayout.RotateHalf;
        var matrixType = dtype switch { GgufDtype.F32 => GgmlType.F32, GgufDtype.F16 => GgmlType.F16, _ => GgmlType.Q8_0 };
        void Matrix(string tensorName, Tensor weight)
        {
            var type = GgmlQuantization.Supports(matrixType, weight.shape[1]) ? matrixType : GgmlType.F16;
            AddTensor(w, tensorName, weight, type);
        }
        void Vector(string tensorName, Tensor weight) => AddTensor(w, tensorName, weight, GgmlType.F32);

        Matrix("token_embd.weight", model.Model.EmbedTokens.weight!);
        Vector("output_norm.weight", model.Model.Norm.Weight);
        Matrix("output.weight", model.OutputWeight);
        int kvDim = config.NKvHeads * config.HeadDim;
        for (int i = 0; i < kept.Count; i++)
        {
            var layer = model.Model.Layers[kept[i]];
            string p = $"blk.{i}.";
            if (layer.SelfAttn is { } attn)
            {
                Vector(p + "attn_norm.weight", layer.InputLayerNorm!.Weight);
                Matrix(p + "attn_q.weight", permute ? LlamaConversion.RotateHalfToInterleaved(attn.QProj.weight!, config.NHeads) : attn.QProj.weight!);
                Matrix(p + "attn_k.weight", permute ? LlamaConversion.RotateHalfToInterleaved(attn.KProj.weight!, config.NKvHeads) : attn.KProj.weight!);
                Matrix(p + "attn_v.weight", attn.VProj.weight!);
                Matrix(p + "attn_output.weight", attn.OProj.weight!);
            }
            else
            {
                Vector(p + "attn_norm.weight", ones(config.Dim));
                Matrix(p + "attn_q.weight", zeros(config.Dim, config.Dim));
                Matrix(p + "attn_k.weight", zeros(kvDim, config.Dim));
                Matrix(p + "attn_v.weight", zeros(kvDim, config.Dim));
                Matrix(p + "attn_output.weight", zeros(config.Dim, config.Dim));
            }
            if (layer.Mlp is { } mlp)
            {
                Vector(p + "ffn_norm.weight", layer.PostAttentionLayerNorm!.Weight);
                Matrix(p + "ffn_gate.weight", mlp.GateProj.weight!);
                Matrix(p + "ffn_down.weight", mlp.DownProj.weight!);
                Matrix(p + "ffn_up.weight", mlp.UpProj.weight!);
            }
            else
            {
                Vector(p + "ffn_norm.weight", ones(config.Dim));
                Matrix(p + "ffn_gate.weight", zeros(config.HiddenDim, config.Dim));
                Matrix(p + "ffn_down.weight", zeros(config.Dim, config.HiddenDim));
                Matrix(p + "ffn_up.weight", zeros(config.HiddenDim, config.Dim));
            }
        }
        return w;
    }

    /// <summary>The GGUF piece of a llama2.c token: the text with "▁" for spaces, &lt;s&gt;/&lt;/s&gt; for BOS/EOS.</summary>
    public static (string Piece, int Type) Piece(Llama2cTokenizer tokenizer, int id)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (id == 0) return ("<unk>", TokenUnknown);
        if (id == Llama2cTokenizer.Bos) return ("<s>", TokenControl);
        if (id == Llama2cTokenizer.Eos) return ("</s>", TokenControl);
        var bytes = tokenizer.PieceBytes(id);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InputException($"tokenizer piece {id} is not valid UTF-8 ({Convert.ToHexString(bytes)}); GGUF vocabularies hold text pieces");
        }
        bool isByte = text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && Uri.IsHexDigit(text[3]) && Uri.IsHexDigit(text[4]);
        return isByte ? (text, TokenByte) : (text.Replace(' ', '\u2581'), TokenNormal);
    }

    private static void AddVocabulary(GgufWriter w, Llama2cTokenizer tokenizer)
    {
        var pieces = new string[tokenizer.VocabSize];
        var types = new int[tokenizer.VocabSize];
        var scores = new float[tokenizer.VocabSize];
        for (int id = 0; id < pieces.Length; id++)
        {
            (pieces[id], types[id]) = Piece(tokenizer, id);
            scores[id] = tokenizer.Score(id);
        }
        w.Set("tokenizer.ggml.model", GgufValue.Of("llama"));
        w.Set("tokenizer.ggml.tokens", GgufValue.Of(pieces));
        w.Set("tokenizer.ggml.scores", GgufValue.Of(scores));
        w.Set("tokenizer.ggml.token_type", GgufValue.Of(types));
        w.Set("tokenizer.ggml.bos_token_id", GgufValue.OfUInt32(Llama2cTokenizer.Bos));
        w.Set("tokenizer.ggml.eos_token_id", GgufValue.OfUInt32(Llama2cTokenizer.Eos));
        w.Set("tokenizer.ggml.unknown_token_id", GgufValue.OfUInt32(0));
        w.Set("tokenizer.ggml.add_bos_token", GgufValue.Of(true));
        w.Set("tokenizer.ggml.add_eos_token", GgufValue.Of(false));
    }

    private static void AddTensor(GgufWriter w, string name, Tensor weight, GgmlType type)
    {
        using var scope = NewDisposeScope();
        var values = weight.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        foreach (var v in values)
            if (!float.IsFinite(v)) throw new NonFiniteResultException($"a value of tensor {name}", v, "a model with non-finite weights is not exported");
        var ne = weight.shape.Reverse().ToArray();   // (out, in) -> ne [in, out]
        w.AddTensor(name, ne, type, GgmlQuantization.Encode(values, type));
    }
}
