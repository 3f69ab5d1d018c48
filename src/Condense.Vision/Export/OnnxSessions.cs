// What every ONNX Runtime caller in Condense sets up the same way: session options (errors only in the log; with a
// thread count, sequential execution on that many intra-op threads, as the benchmarks compare engines at equal threads)
// and a graph input from a TorchSharp tensor.
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;

namespace Condense.Vision.Export;

/// <summary>ONNX Runtime sessions and inputs for Condense's exported graphs.</summary>
public static class OnnxSessions
{
    /// <summary>Session options: errors only; with <paramref name="threads"/>, that many intra-op threads and sequential execution.</summary>
    public static SessionOptions Options(int? threads = null)
    {
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        if (threads is int t)
        {
            options.IntraOpNumThreads = t;
            options.InterOpNumThreads = 1;
            options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        }
        return options;
    }

    /// <summary>The float32 graph input <paramref name="name"/> with the values and shape of <paramref name="tensor"/>.</summary>
    public static NamedOnnxValue Input(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var values = tensor.detach().to(TorchSharp.torch.ScalarType.Float32).contiguous().data<float>().ToArray();
        return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(values, [.. tensor.shape.Select(d => (int)d)]));
    }
}
