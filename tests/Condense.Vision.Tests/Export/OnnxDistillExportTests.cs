using Condense.Core;
using Condense.Core.Training;
using Condense.Testing;
using Condense.Vision.Distillation;
using Condense.Vision.Export;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Condense.Vision.Tests.Export;

/// <summary>A real (short) distillation run exported to ONNX: agreement in ONNX Runtime, teacher units, file safety.</summary>
public sealed class OnnxDistillExportTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-onnx-distill-");

    public void Dispose() => _temp.Dispose();

    private string Distill(string name, params string[] extra)
    {
        var recipe = RecipeLoader.LoadDefault(
        [
            "data.train_images=128", "data.test_images=64", "train.steps=6", "train.batch_size=16", "train.warmup_steps=2",
            "train.checkpoint_every=6", "student.depth=2", "student.embed_dim=64", "eval.probe_steps=10",
            $"train.cache_dir={Path.Combine(_temp.Path, "cache")}", "teachers[2].input_size=32", .. extra,
        ]).WithTeachers(["resnet8", "hog"]);
        var dir = Path.Combine(_temp.Path, name);
        Distiller.Run(recipe, new DistillRunOptions(dir, Progress: ProgressMode.None));
        return dir;
    }

    [Fact]
    public void A_phi_s_run_exports_with_heads_in_teacher_units_at_any_resolution()
    {
        var run = Distill("vit", "loss.feature_normalizer=phi-s", "loss.normalizer_warmup_samples=64");
        var file = Path.Combine(_temp.Path, "student.onnx");
        var result = OnnxModelExport.Run(new OnnxExportOptions(run, file));
        Assert.True(result.DynamicResolution);
        Assert.Equal("phi-s", result.FoldedFrom);
        Assert.Equal(new[] { "summary", "features", "resnet8.summary", "resnet8.features", "hog.features" }, result.Outputs.Select(o => o.Name));
        Assert.Equal(15, result.Agreement.Count);                                             // 3 shapes x 5 outputs
        Assert.Contains(result.Agreement, a => a.Height == 64 && a.Width == 36);             // a second, rectangular size
        Assert.True(result.MaxAbsDiff <= 1e-4, $"max |diff| {result.MaxAbsDiff:E2}");
        Assert.Equal(new FileInfo(file).Length, result.Bytes);

        // The graph's HOG features equal the trained model's normalized prediction mapped back through PHI-S's inverse.
        var (model, session, _, _, _) = Distiller.Load(Path.Combine(run, "model.safetensors"), ProgressMode.None);
        using (session)
        using (model)
        using (var scope = NewDisposeScope())
        {
            model.eval();
            manual_seed(3);
            var images = rand(2, 3, 32, 32);
            Tensor expected;
            using (no_grad())
            {
                var normalized = model.call(images).Teachers["hog"].Features!;                       // (B, C, h, w)
                var inverse = model.FeatureNormalizers!.Estimator("hog").Normalizer.Inverse(normalized.permute(0, 2, 3, 1));
                expected = inverse.permute(0, 3, 1, 2).contiguous();
            }
            using var ort = new InferenceSession(file);
            var input = NamedOnnxValue.CreateFromTensor("images", new DenseTensor<float>(images.data<float>().ToArray(), [2, 3, 32, 32]));
            using var outputs = ort.Run([input]);
            var hog = outputs.Single(o => o.Name == "hog.features").AsTensor<float>().ToArray();
            var want = expected.data<float>().ToArray();
            Assert.Equal(want.Length, hog.Length);
            double diff = want.Zip(hog, (a, b) => Math.Abs((double)a - b)).Max();
            Assert.True(diff <= 1e-4, $"ONNX hog.features vs inverse-normalized model: {diff:E2}");
        }

        // The README's C# lines, as written there (printing to a captured writer).
        var printed = new StringWriter();
        ReadmeSnippet(file, printed);
        Assert.Equal("summary: (1, 64)|features: (1, 64, 8, 8)|resnet8.summary: (1, 64)|resnet8.features: (1, 64, 8, 8)|hog.features: (1, 108, 8, 8)",
            string.Join("|", printed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        // An existing file is kept unless overwriting is allowed.
        var before = File.ReadAllBytes(file);
        var ex = Assert.Throws<InputException>(() => OnnxModelExport.Run(new OnnxExportOptions(run, file)));
        Assert.Equal("OutputPath", ex.Option);
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.True(OnnxModelExport.Run(new OnnxExportOptions(run, file, 48, null, Overwrite: true, Verify: false)).Agreement.Count == 0);
        Assert.Empty(Directory.GetFiles(_temp.Path, ".*.tmp"));
    }

    private static void ReadmeSnippet(string path, TextWriter Console)
    {
        using var session = new InferenceSession(path);
        var images = new DenseTensor<float>([1, 3, 32, 32]);      // RGB in [0, 1], NCHW; the ViT student takes any multiple of its patch size
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", images)]);
        foreach (var r in results)                                // summary, features, then {teacher}.summary / {teacher}.features
            Console.WriteLine($"{r.Name}: ({string.Join(", ", r.AsTensor<float>().Dimensions.ToArray())})");
    }

    [Fact]
    public void A_backbone_student_exports_at_its_size()
    {
        var run = Distill("faster", "student.model=fastervit_micro");
        var result = OnnxModelExport.Run(new OnnxExportOptions(run, Path.Combine(_temp.Path, "faster.onnx")));
        Assert.False(result.DynamicResolution);
        Assert.Equal("fastervit_micro", result.Student);
        Assert.Equal(10, result.Agreement.Count);                                              // 2 batch sizes x 5 outputs
        Assert.True(result.MaxAbsDiff <= 1e-4, $"max |diff| {result.MaxAbsDiff:E2}");
    }

    [Fact]
    public void A_folder_that_is_not_a_run_is_bad_input()
    {
        var ex = Assert.Throws<InputException>(() => OnnxModelExport.Run(new OnnxExportOptions(_temp.Path, Path.Combine(_temp.Path, "x.onnx"))));
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
    }
}
