using Condense.Core.Data;
using Condense.Vision.Distillation;
using Condense.Vision.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Evaluation;

public sealed class EvaluationTests
{
    private static (Tensor X, long[] Y) Pixels(LabelledImages set)
    {
        var x = DistillData.Images(set, Enumerable.Range(0, set.Count).ToArray(), null);   // (N, 3, 28, 28)
        return (x[.., 0].reshape(set.Count, -1), set.Labels);                              // (N, 784)
    }

    [Fact]
    public void KnnVoteIsWeightedByExponentiatedSimilarity()
    {
        using var scope = torch.NewDisposeScope();
        // one query at angle 0; bank: class 0 at 60° (cos 0.5), class 1 twice at 80° (cos 0.17): with k = 3 and
        // T = 0.07 one close neighbour outweighs two far ones (e^{7.1} > 2e^{2.5}); with T = 10 the two win.
        static float[] At(double degrees) => [(float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180)];
        var bank = torch.tensor(At(60).Concat(At(80)).Concat(At(-80)).ToArray()).reshape(3, 2);
        var query = torch.tensor(At(0)).reshape(1, 2);
        Assert.Equal(1.0, KnnClassifier.Accuracy(bank, [0, 1, 1], query, [0], numClasses: 2, k: 3, temperature: 0.07));
        Assert.Equal(1.0, KnnClassifier.Accuracy(bank, [0, 1, 1], query, [1], numClasses: 2, k: 3, temperature: 10));
    }

    [Fact]
    public void KnnAndProbeOnRawFashionMnistPixels()
    {
        using var scope = torch.NewDisposeScope();
        var data = DistillData.Load(new DataRecipe { TrainImages = 2000, TestImages = 500 });
        var (xTrain, yTrain) = Pixels(data.Train);
        var (xTest, yTest) = Pixels(data.Test);
        double knn = KnnClassifier.Accuracy(xTrain, yTrain, xTest, yTest, 10);
        double probe = LinearProbe.Accuracy(xTrain, yTrain, xTest, yTest, 10);
        // raw-pixel baselines on Fashion-MNIST are ~0.8 with the full training set; 2,000 images give a bit less
        Assert.InRange(knn, 0.70, 0.90);
        Assert.InRange(probe, 0.68, 0.90);
        Assert.Equal(probe, LinearProbe.Accuracy(xTrain, yTrain, xTest, yTest, 10));   // seeded: reproducible
    }

    [Fact]
    public void FidelityIsVarianceOverMse()
    {
        using var scope = torch.NewDisposeScope();
        var teacher = torch.tensor(new float[] { 1, -1, 1, -1, 3, -3, 3, -3 }).reshape(2, 4);    // var = 40/7
        var student = teacher + 0.5f;                                                              // mse = 0.25
        var r = Fidelity.Compute(student, teacher);
        Assert.Equal(0.25, r.Mse, 6);
        Assert.Equal(40.0 / 7, r.TeacherVariance, 5);
        Assert.Equal(40.0 / 7 / 0.25, r.Fidelity, 4);
        Assert.Equal(1.0, Fidelity.Compute(teacher, teacher).Cosine, 6);
    }

    [Fact]
    public void PcaColoursFollowTheDominantDirection()
    {
        using var scope = torch.NewDisposeScope();
        // 16 channels; left half of each map along +v, right half along −v: component 1 separates the halves
        var v = torch.randn(16, generator: new Generator(1));
        var left = v.reshape(1, 16, 1, 1).expand(2, 16, 4, 2);
        var features = torch.cat([left, -left], 3) + 0.01f * torch.randn(2, 16, 4, 4, generator: new Generator(2));
        var rgb = FeaturePca.ToRgb(features);                                                      // (2, 3, 4, 4)
        Assert.Equal(new long[] { 2, 3, 4, 4 }, rgb.shape);
        Assert.True(rgb.min().item<float>() >= 0 && rgb.max().item<float>() <= 1);
        var red = rgb[.., 0];
        Assert.True((red[.., .., ..2].mean() - red[.., .., 2..].mean()).abs().item<float>() > 0.9f);
    }
}
