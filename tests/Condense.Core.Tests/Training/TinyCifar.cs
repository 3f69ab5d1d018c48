using Condense.Core.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Core.Tests.Training;

/// <summary>
/// Real data for training-loop tests: the 499 CIFAR-10 images in ../shared, average-pooled to 3x8x8 and
/// flattened (192 features), with their labels; plus a small MLP classifier and batch helpers.
/// </summary>
internal static class TinyCifar
{
    private static readonly Lazy<(float[] X, long[] Y)> Data = new(Load);

    public const int Features = 192;
    public static int Count => Data.Value.Y.Length;

    private static (float[] X, long[] Y) Load()
    {
        var pixels = File.ReadAllBytes(AssetPaths.Require("data/images/cifar10_batch1_first499_chw_u8.bin"));
        var labelBytes = File.ReadAllBytes(AssetPaths.Require("data/images/cifar10_batch1_first499_labels_i64.bin"));
        int n = labelBytes.Length / 8;
        var labels = new long[n];
        Buffer.BlockCopy(labelBytes, 0, labels, 0, labelBytes.Length);
        using var scope = torch.NewDisposeScope();
        var images = torch.tensor(pixels, ScalarType.Byte).reshape(n, 3, 32, 32).to_type(ScalarType.Float32).div_(255f); // (N, 3, 32, 32)
        var pooled = nn.functional.avg_pool2d(images, 4).reshape(n, Features);                                              // (N, 192)
        pooled = (pooled - pooled.mean([0])) / pooled.std(0);                                                               // standardized features
        return (pooled.data<float>().ToArray(), labels);
    }

    /// <summary>Batch <paramref name="index"/> of a fixed cyclic order (deterministic, resumable by index).</summary>
    public static (Tensor X, Tensor Y) Batch(long index, int batchSize)
    {
        var (x, y) = Data.Value;
        int n = y.Length;
        var xs = new float[batchSize * Features];
        var ys = new long[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            int row = (int)((index * batchSize + i) % n);
            Array.Copy(x, row * Features, xs, i * Features, Features);
            ys[i] = y[row];
        }
        return (torch.tensor(xs).reshape(batchSize, Features), torch.tensor(ys));
    }

    public static IEnumerable<(Tensor X, Tensor Y)> BatchesFrom(long step, int batchSize)
    {
        for (long i = step; ; i++) yield return Batch(i, batchSize);
    }

    public static nn.Module<Tensor, Tensor> Mlp(long seed, int hidden = 64)
    {
        torch.manual_seed(seed);
        return nn.Sequential(("fc1", nn.Linear(Features, hidden)), ("act", nn.GELU()), ("drop", nn.Dropout(0.1)), ("fc2", nn.Linear(hidden, 10)));
    }

    public static Tensor Loss(nn.Module<Tensor, Tensor> model, (Tensor X, Tensor Y) batch) =>
        nn.functional.cross_entropy(model.call(batch.X), batch.Y);
}
