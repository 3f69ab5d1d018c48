using Condense.Core.Data;
using Condense.Core.Training;
using Condense.Vision.Evaluation;
using Condense.Vision.Radio;
using Condense.Vision.Teachers;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>
/// The evaluation every distillation run reports (and `condense eval` reruns on a checkpoint):
/// kNN (weighted vote) and a linear probe on held-out images from each teacher's own summary and from the
/// student through that teacher's adaptor, side by side, plus the student's combined summary; per-teacher
/// fidelity (MSE, cosine, Var/MSE) of adaptor outputs on held-out images; a PCA figure of spatial features.
/// </summary>
public static class DistillEvaluator
{
    private const int Chunk = 250;

    /// <summary>Evaluates <paramref name="model"/> at the recipe's resolution and writes the PCA figure and report.md to <paramref name="dir"/>.</summary>
    /// <param name="training">The training outcome to report, or null when evaluating a saved model.</param>
    public static DistillResult Evaluate(RadioDistillModel model, DistillSession session, DistillData data, DistillRecipe recipe,
        string dir, TrainResult? training)
    {
        Directory.CreateDirectory(dir);
        model.eval();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        int res = recipe.Data.Resolution;
        var trainStudent = Embed(model, data.Train, res, keepFeatures: false);
        var testStudent = Embed(model, data.Test, res, keepFeatures: true);
        int classes = data.NumClasses;
        var e = recipe.Eval;

        var knnRows = new List<TeacherKnnRow>();
        var fidelityRows = new List<FidelityRow>();
        var combinedTrain = new List<Tensor>();
        var combinedTest = new List<Tensor>();
        foreach (var teacher in session.Slots)
        {
            var trainTeacher = Targets(teacher.Train, data.Train.Count);
            var testTeacher = Targets(teacher.Test, data.Test.Count);
            if (trainTeacher.Summary is not null && testTeacher.Summary is not null)
            {
                var sTrain = trainStudent.Adaptors[teacher.Name].Summary!;
                var sTest = testStudent.Adaptors[teacher.Name].Summary!;
                var teacherCorrect = KnnClassifier.Correct(trainTeacher.Summary, data.Train.Labels, testTeacher.Summary, data.Test.Labels, classes, e.KnnK, e.KnnTemperature);
                var studentCorrect = KnnClassifier.Correct(sTrain, data.Train.Labels, sTest, data.Test.Labels, classes, e.KnnK, e.KnnTemperature);
                knnRows.Add(new TeacherKnnRow(teacher.Name, Fraction(teacherCorrect), Fraction(studentCorrect),
                    LinearProbe.Accuracy(trainTeacher.Summary, data.Train.Labels, testTeacher.Summary, data.Test.Labels, classes, e.ProbeSteps),
                    LinearProbe.Accuracy(sTrain, data.Train.Labels, sTest, data.Test.Labels, classes, e.ProbeSteps))
                {
                    TeacherKnnCorrect = teacherCorrect,
                    StudentKnnCorrect = studentCorrect,
                });
                combinedTrain.Add(nn.functional.normalize(sTrain, dim: 1));
                combinedTest.Add(nn.functional.normalize(sTest, dim: 1));
                var f = Fidelity.Compute(sTest, testTeacher.Summary);
                fidelityRows.Add(new FidelityRow(teacher.Name, "summary", f.Mse, f.Cosine, f.TeacherVariance, f.Fidelity));
            }
            if (testTeacher.Features is not null && testStudent.Adaptors[teacher.Name].Features is Tensor predicted)
            {
                // compare on the teacher's own grid, in the teacher's units
                var t = testTeacher.Features;
                var p = GridMatching.Resize(predicted, t.shape[2], t.shape[3]);
                if (model.FeatureNormalizers is { } n && n.Teachers.Contains(teacher.Name)) p = n.Denormalize(teacher.Name, p);
                var f = Fidelity.Compute(p, t);
                fidelityRows.Add(new FidelityRow(teacher.Name, "features", f.Mse, f.Cosine, f.TeacherVariance, f.Fidelity));
            }
        }

        // The combined summary: every adaptor's summary output, L2-normalized, concatenated (each teacher
        // weighs the same in the cosine); and the raw backbone summary tokens for reference.
        ClassificationRow Classify(string name, Tensor train, Tensor test)
        {
            var correct = KnnClassifier.Correct(train, data.Train.Labels, test, data.Test.Labels, classes, e.KnnK, e.KnnTemperature);
            return new(name, Fraction(correct), LinearProbe.Accuracy(train, data.Train.Labels, test, data.Test.Labels, classes, e.ProbeSteps))
            {
                KnnCorrect = correct,
            };
        }
        var combined = combinedTrain.Count > 0
            ? Classify("student: all adaptor summaries", torch.cat(combinedTrain, 1), torch.cat(combinedTest, 1))
            : new ClassificationRow("student: all adaptor summaries", double.NaN, double.NaN);
        var backbone = Classify("student: backbone summary tokens", trainStudent.Backbone, testStudent.Backbone);

        var pcaPath = Path.Combine(dir, "plots", "pca_features.png");
        WritePca(pcaPath, model, session, data, recipe);

        var modelPath = training?.ModelPath ?? "";
        var result = new DistillResult(Path.GetFullPath(dir), Path.Combine(Path.GetFullPath(dir), "report.md"), modelPath, pcaPath,
            data.Source, knnRows, combined, backbone, fidelityRows, session.Cost, training);
        DistillReport.Write(result, recipe, model);
        return result;
    }

    private static double Fraction(bool[] correct) => correct.Count(c => c) / (double)correct.Length;

    /// <summary>
    /// Per-teacher fidelity of the adaptors on the held-out images with the student run at each resolution in
    /// <paramref name="resolutions"/> (teachers stay at their own input sizes): the "mode switch" diagnostic of
    /// AM-RADIO section 6 / RADIO's mode_switching.py. A sudden drop at some resolution means the student learned a
    /// different mode there.
    /// </summary>
    public static List<ModeSwitchRow> ModeSwitch(RadioDistillModel model, DistillSession session, DistillData data, IReadOnlyList<int> resolutions)
    {
        model.eval();
        using var _ = torch.no_grad();
        var rows = new List<ModeSwitchRow>();
        var teachers = session.Slots.Select(s => (s.Name, Targets(s.Test, data.Test.Count))).ToList();
        foreach (int r in resolutions)
        {
            using var scope = torch.NewDisposeScope();
            var student = Embed(model, data.Test, r, keepFeatures: true);
            foreach (var (name, target) in teachers)
            {
                if (target.Summary is not null && student.Adaptors[name].Summary is Tensor s)
                {
                    var f = Fidelity.Compute(s, target.Summary);
                    rows.Add(new ModeSwitchRow(r, name, "summary", f.Fidelity, f.Cosine));
                }
                if (target.Features is not null && student.Adaptors[name].Features is Tensor predicted)
                {
                    var p = GridMatching.Resize(predicted, target.Features.shape[2], target.Features.shape[3]);
                    if (model.FeatureNormalizers is { } n && n.Teachers.Contains(name)) p = n.Denormalize(name, p);
                    var f = Fidelity.Compute(p, target.Features);
                    rows.Add(new ModeSwitchRow(r, name, "features", f.Fidelity, f.Cosine));
                }
            }
        }
        return rows;
    }

    /// <summary>The student's outputs over a whole split.</summary>
    /// <param name="Backbone">(N, NumCls * D): every summary token, concatenated in teacher order.</param>
    /// <param name="Adaptors">Per teacher name, the adaptor's predictions over the split: summary (N, Cs) and, when kept, features (N, Cf, GridH, GridW).</param>
    public sealed record StudentEmbeddings(Tensor Backbone, Dictionary<string, TeacherOutput> Adaptors);

    /// <summary>Student outputs over a whole split, in chunks (eval mode: CPE top-left window, no dropout).</summary>
    public static StudentEmbeddings Embed(RadioDistillModel model, LabelledImages set, int resolution, bool keepFeatures)
    {
        var backbone = new List<Tensor>();
        var summaries = new Dictionary<string, List<Tensor>>();
        var features = new Dictionary<string, List<Tensor>>();
        for (int start = 0; start < set.Count; start += Chunk)
        {
            var idx = Enumerable.Range(start, Math.Min(Chunk, set.Count - start)).ToArray();
            var output = model.call(DistillData.Images(set, idx, resolution));
            backbone.Add(output.Summary);
            foreach (var (name, p) in output.Teachers)
            {
                if (p.Summary is not null) Append(summaries, name, p.Summary);
                if (keepFeatures && p.Features is not null) Append(features, name, p.Features);
            }
        }
        var adaptors = model.Teachers.ToDictionary(t => t.Name, t => new TeacherOutput(
            summaries.TryGetValue(t.Name, out var s) ? torch.cat(s, 0) : null,
            features.TryGetValue(t.Name, out var f) ? torch.cat(f, 0) : null));
        return new StudentEmbeddings(torch.cat(backbone, 0), adaptors);
    }

    /// <summary>A teacher's outputs for the first <paramref name="count"/> images of its split, read in chunks and concatenated.</summary>
    public static TeacherOutput Targets(TeacherTargets targets, int count)
    {
        var summaries = new List<Tensor>();
        var features = new List<Tensor>();
        for (int start = 0; start < count; start += Chunk)
        {
            var o = targets.Get(Enumerable.Range(start, Math.Min(Chunk, count - start)).ToArray());
            if (o.Summary is not null) summaries.Add(o.Summary);
            if (o.Features is not null) features.Add(o.Features);
        }
        return new TeacherOutput(summaries.Count > 0 ? torch.cat(summaries, 0) : null, features.Count > 0 ? torch.cat(features, 0) : null);
    }

    private static void Append(Dictionary<string, List<Tensor>> lists, string key, Tensor t)
    {
        if (!lists.TryGetValue(key, out var list)) lists[key] = list = [];
        list.Add(t);
    }

    private static void WritePca(string path, RadioDistillModel model, DistillSession session, DistillData data, DistillRecipe recipe)
    {
        int n = Math.Min(recipe.Eval.PcaImages, data.Test.Count);
        if (n == 0) return;
        var idx = Enumerable.Range(0, n).ToArray();
        var images = DistillData.Images(data.Test, idx, recipe.Data.Resolution);
        var output = model.call(images);
        var sources = new List<(string, Tensor, Tensor?)> { ("student", output.Student.Features(), null) };
        foreach (var slot in session.Slots)
        {
            var name = slot.Name;
            var teacher = slot.Test.Get(idx).Features;
            if (teacher is not null) sources.Add(($"{name} teacher", teacher, null));
            if (output.Teachers[name].Features is Tensor a)
            {
                if (model.FeatureNormalizers is { } norms && norms.Teachers.Contains(name)) a = norms.Denormalize(name, a);
                sources.Add(($"{name} adaptor", a, teacher));
            }
        }
        FeaturePca.WriteGrid(path, images, sources);
    }
}
