using Microsoft.ML.OnnxRuntime;

namespace Condense.Vision.Onnx;

/// <summary>Facts about the ONNX Runtime that runs ONNX teachers.</summary>
public static class OnnxRuntimeInfo
{
    /// <summary>The native ONNX Runtime version, e.g. "1.31.1"; throws when the native library is missing.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Execution providers compiled into the loaded runtime.</summary>
    public static IReadOnlyList<string> Providers => OrtEnv.Instance().GetAvailableProviders();
}
