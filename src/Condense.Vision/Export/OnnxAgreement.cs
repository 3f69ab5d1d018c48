// Checks an exported graph against the model it came from: the same random images (uniform in [0, 1), seeded) through
// ONNX Runtime and through the TorchSharp forward, compared output by output as the largest absolute difference.
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Condense.Vision.Export;

/// <summary>One output at one input shape: the largest |ONNX Runtime - TorchSharp| and the largest |TorchSharp| value.</summary>
public sealed record OnnxAgreementRow(int Batch, int Height, int Width, string Output, double MaxAbsDiff, double MaxAbsValue);

/// <summary>Runs an ONNX model in ONNX Runtime beside its TorchSharp reference.</summary>
public static class OnnxAgreement
{
    /// <summary>
    /// For every (batch, height, width), feeds the same images to <paramref name="onnx"/> (input "images") and to
    /// <paramref name="reference"/> (output name to tensor) and compares every reference output.
    /// </summary>
    public static IReadOnlyList<OnnxAgreementRow> Check(byte[] onnx, Func<Tensor, IReadOnlyDictionary<string, Tensor>> reference,
        IEnumerable<(int Batch, int Height, int Width)> shapes, long seed = 0)
    {
        using var options = OnnxSessions.Options();
        using var session = new InferenceSession(onnx, options);
        return Check(session, reference, shapes, seed);
    }

    /// <summary>As <see cref="Check(byte[], Func{Tensor, IReadOnlyDictionary{string, Tensor}}, IEnumerable{ValueTuple{int, int, int}}, long)"/>
    /// for a model file (which may keep its weights in external data beside it).</summary>
    public static IReadOnlyList<OnnxAgreementRow> Check(string onnxPath, Func<Tensor, IReadOnlyDictionary<string, Tensor>> reference,
        IEnumerable<(int Batch, int Height, int Width)> shapes, long seed = 0)
    {
        using var options = OnnxSessions.Options();
        using var session = new InferenceSession(onnxPath, options);
        return Check(session, reference, shapes, seed);
    }

    private static List<OnnxAgreementRow> Check(InferenceSession session, Func<Tensor, IReadOnlyDictionary<string, Tensor>> reference,
        IEnumerable<(int Batch, int Height, int Width)> shapes, long seed)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(shapes);
        var rows = new List<OnnxAgreementRow>();
        foreach (var (batch, height, width) in shapes)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)(seed + batch * 1_000_003L + height * 1009L + width));
            var images = rand([batch, 3, height, width], generator: generator);
            using var results = session.Run([OnnxSessions.Input("images", images)]);
            Dictionary<string, Tensor> expected;
            using (no_grad()) expected = new(reference(images), StringComparer.Ordinal);
            foreach (var (name, want) in expected)
            {
                var got = results.FirstOrDefault(r => r.Name == name)
                    ?? throw new InvalidOperationException($"the ONNX model has no output '{name}'");
                var tensor = got.AsTensor<float>();
                var wantShape = want.shape;
                if (!tensor.Dimensions.ToArray().Select(d => (long)d).SequenceEqual(wantShape))
                    throw new InvalidOperationException(
                        $"ONNX output '{name}' is shaped ({string.Join(", ", tensor.Dimensions.ToArray())}), the model's ({string.Join(", ", wantShape)})");
                var gotValues = tensor.ToArray();
                var wantValues = want.detach().to(ScalarType.Float32).contiguous().data<float>().ToArray();
                double diff = 0, max = 0;
                for (int i = 0; i < wantValues.Length; i++)
                {
                    double d = Math.Abs((double)gotValues[i] - wantValues[i]);
                    if (double.IsNaN(d)) d = double.PositiveInfinity;
                    diff = Math.Max(diff, d);
                    max = Math.Max(max, Math.Abs(wantValues[i]));
                }
                rows.Add(new OnnxAgreementRow(batch, height, width, name, diff, max));
            }
        }
        return rows;
    }
}
