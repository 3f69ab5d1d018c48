// Compares ToMe token merging (Bolya et al., arXiv:2210.09461) with the grid baselines at fixed ratios, the
// experiment behind RADIOv2.5's "token merging keeps the most diverse information" finding (section 3.4 of
// shared/research/radio.md; NVlabs/RADIO radio/tome_merge.py provides `unmerge` for exactly this kind of
// information-loss measurement). For every method and ratio ρ ∈ {4, 16} on (B, h·w, C) grid tokens:
//   (a) reconstruction: compress the held-out tokens, spread them back to every position (ToMe / kth: unmerge;
//       avg-pool: nearest upsampling; pixel-unshuffle: exact inverse; unshuffle-pca: least-squares decoder),
//       error ‖x − x̂‖² / ‖x − μ‖² with μ the per-channel mean of all held-out tokens;
//   (b) information for recognition: mean of the output tokens per image, LinearProbe top-1 on class labels,
//       against the same probe on the uncompressed tokens (row "none").
//
// Deviations:
// - The paper measures VLM benchmarks (TextVQA, DocVQA, OCRBench); here the measures are reconstruction and a
//   linear probe on frozen small-teacher features, which need no language model.
// - Plain pixel-unshuffle keeps every value (reconstruction error 0 by construction) at f² times the width, so it
//   is also reported at equal width ("unshuffle-pca"): the f²·C tokens are projected to C channels by PCA fitted on
//   the training tokens and decoded by a least-squares linear decoder (LinearTokenCodec); a VLM would learn this
//   projection instead, which cannot be done here without training a language model.
// - The probe pools output tokens with a plain mean, so merged tokens count once whatever their size; for
//   average pooling this equals the uncompressed mean exactly.
using Condense.Vision.Evaluation;
using Condense.Vision.Teachers;
using Condense.Vision.TokenCompression;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Experiments.Vision;

/// <summary>What the study measured on one teacher at one input size.</summary>
public sealed record TokenCompressionResult(string Teacher, int InputSize, IReadOnlyList<int> Grid, IReadOnlyList<TokenCompressionRow> Rows);

/// <summary>Token merging (ToMe) against grid baselines: reconstruction error and linear-probe accuracy at fixed ratios.</summary>
public static class TokenCompressionStudy
{
    /// <summary>The compression ratios of the study.</summary>
    public static IReadOnlyList<int> DefaultRatios { get; } = [4, 16];

    /// <summary>
    /// The study on the shared CIFAR-10 sample (499 images): the MLPerf Tiny ResNet8's spatial tokens at
    /// <paramref name="inputSize"/> px, the first <paramref name="trainImages"/> images fit probes and codecs, the rest are held out.
    /// </summary>
    public static TokenCompressionResult RunOnCifar(int inputSize, int trainImages)
    {
        if (inputSize <= 0 || inputSize % 16 != 0) throw Condense.Core.InputException.ForOption("InputSize", $"{inputSize}: must be a positive multiple of 16");
        Condense.Core.Runtime.TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var data = Condense.Core.Data.CifarFile.ReadRaw(Condense.Core.IO.AssetPaths.Require("data/images/cifar10_batch1_first499_chw_u8.bin"),
            Condense.Core.IO.AssetPaths.Require("data/images/cifar10_batch1_first499_labels_i64.bin"));
        if (trainImages <= 0 || trainImages >= data.Count) throw Condense.Core.InputException.ForOption("TrainImages", $"{trainImages}: must be in 1..{data.Count - 1}");
        var images = torch.tensor(data.Images.Pixels, [data.Count, 3, 32, 32], ScalarType.Byte).to_type(ScalarType.Float32) / 255f;
        using var teacher = Condense.Vision.Teachers.TeacherRegistry.Create(Condense.Vision.Teachers.TeacherRegistry.ResNet8Cifar10, inputSize);
        var (tokens, h, w) = TeacherTokens(teacher, images);       // (N, h·w, 64)
        var rows = Run(tokens.narrow(0, 0, trainImages), data.Labels[..trainImages],
            tokens.narrow(0, trainImages, data.Count - trainImages), data.Labels[trainImages..], h, w, numClasses: 10);
        return new TokenCompressionResult(teacher.Name, inputSize, [h, w], rows);
    }

    /// <summary>
    /// Runs every method at every ratio. Tokens are row-major (B, h·w, C) grids; every ratio must be f² with f
    /// dividing both grid sides.
    /// Returns the uncompressed row ("none") and one row per method and ratio.
    /// </summary>
    public static IReadOnlyList<TokenCompressionRow> Run(Tensor trainTokens, long[] trainLabels, Tensor testTokens,
        long[] testLabels, int gridH, int gridW, int numClasses, IReadOnlyList<int>? ratios = null,
        int probeSteps = 300)
    {
        ArgumentNullException.ThrowIfNull(trainLabels);
        ArgumentNullException.ThrowIfNull(testLabels);
        TokenGrid.Require(trainTokens, gridH, gridW, 1);
        TokenGrid.Require(testTokens, gridH, gridW, 1);
        if (trainTokens.shape[2] != testTokens.shape[2])
            throw new ArgumentException("train and test tokens differ in width", nameof(testTokens));
        if (trainTokens.shape[0] != trainLabels.Length || testTokens.shape[0] != testLabels.Length)
            throw new ArgumentException("token and label counts differ", nameof(trainLabels));
        ratios ??= DefaultRatios;
        foreach (var ratio in ratios)
        {
            int f = (int)Math.Round(Math.Sqrt(ratio));
            if (ratio < 1 || f * f != ratio || gridH % f != 0 || gridW % f != 0)
                throw new ArgumentException($"ratio {ratio} is not f² with f dividing a {gridH}x{gridW} grid",
                    nameof(ratios));
        }

        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var train = trainTokens.to_type(ScalarType.Float32);                               // (Bt, N, C)
        var test = testTokens.to_type(ScalarType.Float32);                                 // (Be, N, C)
        long N = train.shape[1];
        int C = (int)train.shape[2];
        double Probe(Tensor trainOut, Tensor testOut) => LinearProbe.Accuracy(trainOut.mean([1]), trainLabels,
            testOut.mean([1]), testLabels, numClasses, steps: probeSteps);
        TokenCompressionRow Row(string method, int ratio, Tensor trainOut, Tensor testOut, Tensor reconstruction) =>
            new(method, ratio, N, testOut.shape[1], testOut.shape[2], NormalizedError(test, reconstruction),
                Probe(trainOut, testOut));

        var rows = new List<TokenCompressionRow> { Row("none", 1, train, test, test) };
        foreach (var ratio in ratios)
        {
            using var step = torch.NewDisposeScope();
            int f = (int)Math.Round(Math.Sqrt(ratio));
            long budget = N / ratio;

            var tomeTest = TokenMerging.MergeToBudget(test, budget);
            rows.Add(Row("tome", ratio, TokenMerging.MergeToBudget(train, budget).Tokens, tomeTest.Tokens,
                tomeTest.Unmerge(tomeTest.Tokens)));

            var kthTest = KthTokenMerging.Merge(test, ratio);
            rows.Add(Row("tome-kth", ratio, KthTokenMerging.Merge(train, ratio).Tokens, kthTest.Tokens,
                kthTest.Unmerge(kthTest.Tokens)));

            var poolTest = TokenAvgPool.Pool(test, gridH, gridW, f);
            rows.Add(Row("avgpool", ratio, TokenAvgPool.Pool(train, gridH, gridW, f).Tokens, poolTest.Tokens,
                poolTest.Unmerge(poolTest.Tokens)));

            var unshuffledTrain = TokenPixelUnshuffle.Apply(train, gridH, gridW, f);      // (Bt, N/ρ, ρC)
            var unshuffledTest = TokenPixelUnshuffle.Apply(test, gridH, gridW, f);        // (Be, N/ρ, ρC)
            rows.Add(Row("unshuffle", ratio, unshuffledTrain, unshuffledTest,
                TokenPixelUnshuffle.Inverse(unshuffledTest, gridH, gridW, f)));

            var codec = LinearTokenCodec.Fit(unshuffledTrain.reshape(-1, unshuffledTrain.shape[2]), C);
            var codesTest = codec.Encode(unshuffledTest);                                 // (Be, N/ρ, C)
            rows.Add(Row("unshuffle-pca", ratio, codec.Encode(unshuffledTrain), codesTest,
                TokenPixelUnshuffle.Inverse(codec.Decode(codesTest), gridH, gridW, f)));
        }
        return rows;
    }

    /// <summary>‖x − x̂‖² / ‖x − μ‖² over all tokens, μ the per-channel mean of x's tokens; both (B, N, C).</summary>
    public static double NormalizedError(Tensor x, Tensor reconstruction)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(reconstruction);
        if (!x.shape.SequenceEqual(reconstruction.shape))
            throw new ArgumentException(
                $"shapes differ: [{string.Join(", ", x.shape)}] vs [{string.Join(", ", reconstruction.shape)}]",
                nameof(reconstruction));
        using var scope = torch.NewDisposeScope();
        var t = x.to_type(ScalarType.Float64).reshape(-1, x.shape[^1]);                   // (BN, C)
        var r = reconstruction.to_type(ScalarType.Float64).reshape(-1, x.shape[^1]);      // (BN, C)
        double error = (t - r).pow(2).sum().item<double>();
        double spread = (t - t.mean([0], keepdim: true)).pow(2).sum().item<double>();
        return error / spread;
    }

    /// <summary>
    /// A teacher's spatial features as grid tokens: images (B, 3, H, W) in [0, 1] to (B, h·w, C), run in batches.
    /// </summary>
    public static (Tensor Tokens, int GridH, int GridW) TeacherTokens(ITeacher teacher, Tensor images,
        int batchSize = 100)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (teacher.FeatureDim is null)
            throw new ArgumentException($"teacher '{teacher.Name}' has no spatial features", nameof(teacher));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var parts = new List<Tensor>();
        int h = 0, w = 0;
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            long count = Math.Min(batchSize, images.shape[0] - start);
            var features = teacher.Forward(images.narrow(0, start, count)).Features!;     // (b, C, h, w)
            (h, w) = ((int)features.shape[2], (int)features.shape[3]);
            parts.Add(features.flatten(2).transpose(1, 2).contiguous());                  // (b, h·w, C)
        }
        return (torch.cat(parts, 0).MoveToOuterDisposeScope(), h, w);                    // (B, h·w, C)
    }

    /// <summary>The rows as a Markdown table.</summary>
    public static string ToMarkdown(IEnumerable<TokenCompressionRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var lines = new List<string>
        {
            "| method | ratio | tokens in | tokens out | width | recon. error | probe acc. |",
            "|---|---|---|---|---|---|---|",
        };
        lines.AddRange(rows.Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"| {r.Method} | {r.Ratio}x | {r.TokensIn} | {r.TokensOut} | {r.Width} | {r.ReconstructionError:F4} | " +
            $"{r.ProbeAccuracy:F3} |")));
        return string.Join('\n', lines);
    }
}
