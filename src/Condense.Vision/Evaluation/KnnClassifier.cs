using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classification on frozen embeddings, the protocol AM-RADIO reports as "kNN"
/// (and DINO introduced): embeddings are L2-normalized, the k most cosine-similar training embeddings vote for
/// their class with weight exp(similarity / T), and the class with the largest total wins.
/// Defaults k = 20, T = 0.07 as in DINO's eval_knn.
/// </summary>
public static class KnnClassifier
{
    /// <summary>Top-1 accuracy of the weighted kNN vote for each query.</summary>
    /// <param name="bank">(N, D) training embeddings.</param>
    /// <param name="bankLabels">N class ids in [0, numClasses).</param>
    /// <param name="queries">(M, D) test embeddings.</param>
    /// <param name="queryLabels">M class ids.</param>
    public static double Accuracy(Tensor bank, long[] bankLabels, Tensor queries, long[] queryLabels, int numClasses,
        int k = 20, double temperature = 0.07, int chunk = 512)
    {
        if (bank.shape[0] != bankLabels.Length || queries.shape[0] != queryLabels.Length)
            throw new ArgumentException("embedding and label counts differ");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        k = Math.Min(k, bankLabels.Length);
        var b = nn.functional.normalize(bank.to_type(ScalarType.Float32), dim: 1);           // (N, D)
        var labels = torch.tensor(bankLabels);                                                  // (N)
        long correct = 0;
        for (int start = 0; start < queryLabels.Length; start += chunk)
        {
            using var inner = torch.NewDisposeScope();
            int n = Math.Min(chunk, queryLabels.Length - start);
            var q = nn.functional.normalize(queries.narrow(0, start, n).to_type(ScalarType.Float32), dim: 1);  // (n, D)
            var sim = q.matmul(b.t());                                                          // (n, N)
            var (top, idx) = sim.topk(k, dim: 1);                                               // (n, k)
            var votes = torch.zeros(n, numClasses);                                             // (n, classes)
            votes.scatter_add_(1, labels[idx], (top / temperature).exp());
            var predicted = votes.argmax(1);
            correct += predicted.eq(torch.tensor(queryLabels[start..(start + n)])).sum().item<long>();
        }
        return (double)correct / queryLabels.Length;
    }
}
