using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Evaluation;

/// <summary>How closely a student's adaptor output matches a teacher on held-out images.</summary>
/// <param name="Mse">Mean squared error over all elements.</param>
/// <param name="Cosine">Mean cosine similarity (over channels, per vector).</param>
/// <param name="TeacherVariance">Variance of the teacher's values over all elements.</param>
/// <param name="Fidelity">TeacherVariance / Mse: how many times smaller the error is than the signal.</param>
public sealed record FidelityResult(double Mse, double Cosine, double TeacherVariance, double Fidelity);

/// <summary>
/// Fidelity as NVlabs/RADIO's mode-switching example reports it: Var(teacher) / MSE(student, teacher), with
/// MSE and cosine computed after grid matching. Deviation: the variance is taken over all elements (one scalar
/// per teacher), which is the reading of the reference we could verify.
/// </summary>
public static class Fidelity
{
    /// <param name="student">(B, C) or (B, C, h, w) adaptor outputs.</param>
    /// <param name="teacher">Same shape as <paramref name="student"/>.</param>
    public static FidelityResult Compute(Tensor student, Tensor teacher)
    {
        if (!student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"shapes differ: [{string.Join(",", student.shape)}] vs [{string.Join(",", teacher.shape)}]");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var s = student.to_type(ScalarType.Float64);
        var t = teacher.to_type(ScalarType.Float64);
        double mse = (s - t).pow(2).mean().item<double>();
        double variance = t.var().item<double>();
        double cosine = nn.functional.cosine_similarity(s, t, dim: 1).mean().item<double>();
        return new FidelityResult(mse, cosine, variance, variance / Math.Max(mse, 1e-30));
    }
}
