namespace Condense.Language.Export;

/// <summary>How the weight matrices of a GGUF export are stored (norm weights are always f32, as llama.cpp writes them).</summary>
public enum GgufDtype
{
    /// <summary>float32: bit-exact weights.</summary>
    F32,
    /// <summary>IEEE half.</summary>
    F16,
    /// <summary>q8_0 (32 int8 + one f16 scale per block); matrices whose rows are not a multiple of 32 fall back to f16.</summary>
    Q8_0,
}
