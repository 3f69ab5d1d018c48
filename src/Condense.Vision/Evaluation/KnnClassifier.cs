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
        int k = 20, double temperature = 0.07, int chunk = 512) =>
        Correct(bank, bankLabels, queries, queryLabels, numClasses, k, temperature, chunk).Count(c => c) / (double)queryLabels.Length;

    /// <summary>Per query, whether the weighted kNN vote is its label (for paired comparisons on the same queries).</summary>
    public static bool[] Correct(Tensor bank, long[] bankLabels, Tensor queries, long[] queryLabels, int numClasses,
        int k = 20, double temperature = 0.07, int chunk = 512)
    {
        ArgumentNullException.ThrowIfNull(queryLabels);
        var predicted = Predict(bank, bankLabels, queries, numClasses, k, temperature, chunk);
        return predicted.Select((p, i) => p == queryLabels[i]).ToArray();
    }

    /// <summary>The weighted kNN vote's class for each query.</summary>
    public static long[] Predict(Tensor bank, long[] bankLabels, Tensor queries, int numClasses,
        int k = 20, double temperature = 0.07, int chunk = 512)
    {
        ArgumentNullException.ThrowIfNull(bank);
        ArgumentNullException.ThrowIfNull(bankLabels);
        ArgumentNullException.ThrowIfNull(queries);
        if (bank.shape[0] != bankLabels.Length)
            throw new ArgumentException("embedding and label counts differ");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        k = Math.Min(k, bankLabels.Length);
        var b = nn.functional.normalize(bank.to_type(ScalarType.Float32), dim: 1);           // (N, D)
        var labels = torch.tensor(bankLabels);                                                  // (N)
        long m = queries.shape[0];
        var result = new long[m];
        for (int start = 0; start < m; start += chunk)
        {
            using var inner = torch.NewDisposeScope();
            int n = (int)Math.Min(chunk, m - start);
            var q = nn.functional.normalize(queries.narrow(0, start, n).to_type(ScalarType.Float32), dim: 1);  // (n, D)
            var sim = q.matmul(b.t());                                                          // (n, N)
            var (top, idx) = sim.topk(k, dim: 1);                                               // (n, k)
            var votes = torch.zeros(n, numClasses);                                             // (n, classes)
            votes.scatter_add_(1, labels[idx], (top / temperature).exp());
            votes.argmax(1).data<long>().ToArray().CopyTo(result, start);
        }
        return result;
    }
}
