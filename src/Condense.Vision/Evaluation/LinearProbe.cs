using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Evaluation;

/// <summary>
/// Linear probe on frozen embeddings: standardize features with the training set's mean/std, fit one Linear
/// layer with full-batch AdamW on cross-entropy, report top-1 test accuracy.
/// Deviation from the papers' probes (SGD over many epochs with augmentation and a learning-rate sweep): one
/// fixed, seeded, full-batch recipe, cheap enough to run inside every distillation report.
/// </summary>
public static class LinearProbe
{
    /// <summary>Top-1 test accuracy of one Linear layer fitted with full-batch AdamW on standardized training embeddings.</summary>
    /// <param name="trainX">(N, D) training embeddings.</param>
    /// <param name="trainY">N class ids in [0, numClasses).</param>
    /// <param name="testX">(M, D) test embeddings.</param>
    /// <param name="testY">M class ids.</param>
    /// <param name="steps">Full-batch optimizer steps.</param>
    public static double Accuracy(Tensor trainX, long[] trainY, Tensor testX, long[] testY, int numClasses,
        int steps = 300, double learningRate = 1e-2, double weightDecay = 1e-4, long seed = 0)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();   // callers usually evaluate under no_grad
        var x = trainX.to_type(ScalarType.Float32).detach();
        var mean = x.mean([0], keepdim: true);
        var std = x.std(0, keepdim: true) + 1e-6f;
        x = (x - mean) / std;                                                 // (N, D)
        var xt = (testX.to_type(ScalarType.Float32) - mean) / std;           // (M, D)
        var y = torch.tensor(trainY);

        var generator = new Generator((ulong)seed);
        var weight = new TorchSharp.Modules.Parameter(torch.randn(numClasses, x.shape[1], generator: generator) * 0.01f);
        var bias = new TorchSharp.Modules.Parameter(torch.zeros(numClasses));
        var optimizer = optim.AdamW([weight, bias], lr: learningRate, weight_decay: weightDecay);
        for (int i = 0; i < steps; i++)
        {
            using var step = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(nn.functional.linear(x, weight, bias), y);
            loss.backward();
            optimizer.step();
        }
        using var _ = torch.no_grad();
        var predicted = nn.functional.linear(xt, weight, bias).argmax(1);
        return predicted.eq(torch.tensor(testY)).to_type(ScalarType.Float64).mean().item<double>();
    }
}
