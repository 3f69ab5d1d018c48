namespace Condense.Vision.Distillation;

/// <summary>
/// A distillation recipe, as written in <c>configs/radio/*.yaml</c> (snake_case keys). Every field has a default;
/// unknown keys are errors. See <see cref="RecipeLoader"/> for loading and key=value overrides.
/// </summary>
public sealed class DistillRecipe
{
    public string Name { get; set; } = "default";
    public DataRecipe Data { get; set; } = new();
    public StudentRecipe Student { get; set; } = new();
    public AdaptorRecipe Adaptor { get; set; } = new();
    public List<TeacherRecipe> Teachers { get; set; } = [];
    public LossRecipe Loss { get; set; } = new();
    public TrainRecipe Train { get; set; } = new();
    public EvalRecipe Eval { get; set; } = new();

    /// <summary>Keeps only the named teachers (in recipe order); an unknown name is an input error.</summary>
    public void SelectTeachers(IEnumerable<string> names)
    {
        var wanted = names.ToList();
        foreach (var n in wanted)
            if (!Teachers.Any(t => t.Name == n))
                throw Condense.Core.InputException.ForOption("Teachers", $": no teacher '{n}' in recipe '{Name}' (has: {string.Join(", ", Teachers.Select(t => t.Name))})");
        Teachers = Teachers.Where(t => wanted.Contains(t.Name)).ToList();
    }
}

public sealed class DataRecipe
{
    /// <summary>"fashion-mnist" (full set when installed, else the test set shipped in data/) or "mnist" (../shared).</summary>
    public string Dataset { get; set; } = "fashion-mnist";

    /// <summary>Images the student is distilled on; also the kNN bank and probe training set.</summary>
    public int TrainImages { get; set; } = 4000;

    /// <summary>Held-out images for kNN/probe queries, fidelity and the PCA figure.</summary>
    public int TestImages { get; set; } = 1000;

    /// <summary>Student input resolution (a multiple of the student's patch size); evaluation runs at it.</summary>
    public int Resolution { get; set; } = 32;

    /// <summary>
    /// Multi-resolution training (RADIOv2.5): each step's batch is split evenly into one partition per listed
    /// resolution, all trained at once. Empty = one partition at <see cref="Resolution"/>.
    /// </summary>
    public List<int> TrainResolutions { get; set; } = [];
}

public sealed class StudentRecipe
{
    /// <summary>
    /// Registry name of the student backbone: radio_vit (the AM-RADIO ViT sized by the fields below) or any
    /// Condense.Vision.Models.ModelRegistry name (fastervit_*, eradio*, vit_*), built at its registry size.
    /// </summary>
    public string Model { get; set; } = "radio_vit";
    public int PatchSize { get; set; } = 4;
    public int EmbedDim { get; set; } = 128;
    public int Depth { get; set; } = 6;
    public int NumHeads { get; set; } = 4;
    public double MlpRatio { get; set; } = 4;

    /// <summary>The CPE table covers this resolution (positions per side = max_resolution / patch_size).</summary>
    public int MaxResolution { get; set; } = 64;

    /// <summary>Registers beside the summary tokens; -1 = the reference's register_multiple rule.</summary>
    public int NumRegisters { get; set; } = -1;
}

public sealed class AdaptorRecipe
{
    /// <summary>Hidden width of the mlp_v2 heads; 0 = the largest teacher width (AM-RADIO default).</summary>
    public int Hidden { get; set; }

    /// <summary>Residual LN-GELU-Linear blocks between fc1 and the final layer.</summary>
    public int NumInner { get; set; }
}

public sealed class TeacherRecipe
{
    /// <summary>Unique name (adaptor and log label).</summary>
    public string Name { get; set; } = "";

    /// <summary>Registered teacher kind, e.g. resnet18, squeezenet, resnet8_cifar10, mobilenetv1_vww, hog, onnx.</summary>
    public string Kind { get; set; } = "";

    /// <summary>Resolution the teacher runs at; null = the kind's default.</summary>
    public int? InputSize { get; set; }

    /// <summary>
    /// The training partitions (student resolutions) this teacher is matched in; empty = all. Listing only the high
    /// resolution reproduces AM-RADIO's SAM-only-at-1024 setup, whose resolution "mode switch" RADIOv2.5 fixes.
    /// </summary>
    public List<int> Resolutions { get; set; } = [];

    /// <summary>λ: weight of this teacher's summary loss (ignored for teachers without a summary).</summary>
    public double SummaryWeight { get; set; } = 1.0;

    /// <summary>γ: weight of this teacher's feature loss.</summary>
    public double FeatureWeight { get; set; } = 1.0;

    /// <summary>
    /// Mosaic tiles per side (RADIOv2.5): 1 = off; k packs k×k images into the teacher's canvas (each image at
    /// input_size / k) and cuts the feature map back into tiles. Features only: the summary is dropped.
    /// </summary>
    public int Mosaic { get; set; } = 1;

    /// <summary>Kind-specific options (e.g. an ONNX teacher's model_path, input_name, outputs).</summary>
    public Dictionary<string, string> Options { get; set; } = [];
}

public sealed class LossRecipe
{
    /// <summary>α in L_match = α·L_cos + β·SmoothL1 (AM-RADIO: 0.9).</summary>
    public double FeatureCosineWeight { get; set; } = 0.9;

    /// <summary>β in L_match (AM-RADIO: 0.1).</summary>
    public double FeatureSmoothL1Weight { get; set; } = 0.1;

    public double SmoothL1Beta { get; set; } = 1.0;

    /// <summary>The magnitude term of the hybrid feature loss: smooth_l1 (AM-RADIO) or mse (PHI-S "Hyb-MSE").</summary>
    public string FeatureDistance { get; set; } = "smooth_l1";

    /// <summary>
    /// Normalization of teacher feature targets: "none" (AM-RADIO: cosine + SmoothL1 on raw targets) or a PHI-S
    /// paper normalizer with an MSE loss in normalized space: mse, global-std, std, pca-w, zca, hca, phi-s.
    /// </summary>
    public string FeatureNormalizer { get; set; } = "none";

    /// <summary>How teacher losses are combined: equal (AM-RADIO), adaloss (1 / EMA of each loss) or uncertainty.</summary>
    public string Balancing { get; set; } = "equal";

    /// <summary>Steps between re-fits of the online normalizer statistics.</summary>
    public int NormalizerUpdatePeriod { get; set; } = 100;

    /// <summary>Feature vectors after which the statistics freeze; 0 = 1000 × channels.</summary>
    public long NormalizerWarmupSamples { get; set; }

    /// <summary>
    /// Training step from which every teacher's normalizer is fitted one last time and frozen, whatever its sample
    /// count, so all teachers (and all arms of a study) freeze at the same point; 0 = only by sample count.
    /// </summary>
    public long NormalizerFreezeStep { get; set; }

    /// <summary>larger (AM-RADIO), smaller, student or teacher.</summary>
    public string GridMatching { get; set; } = "larger";
}

public sealed class TrainRecipe
{
    public long Steps { get; set; } = 1500;
    public int BatchSize { get; set; } = 64;
    public string Optimizer { get; set; } = "lamb";
    public double LearningRate { get; set; } = 2e-3;
    public double MinLearningRate { get; set; } = 2e-5;
    public long WarmupSteps { get; set; } = 100;
    public double WeightDecay { get; set; } = 0.02;
    public double GradClip { get; set; } = 1.0;
    public long Seed { get; set; }
    public long CheckpointEvery { get; set; } = 250;

    /// <summary>Store teacher outputs on disk and reuse them across epochs and runs.</summary>
    public bool Cache { get; set; } = true;

    /// <summary>Cache folder; empty = artifacts/teacher-cache under the repository (or ./teacher-cache).</summary>
    public string CacheDir { get; set; } = "";
}

public sealed class EvalRecipe
{
    public int KnnK { get; set; } = 20;
    public double KnnTemperature { get; set; } = 0.07;
    public int ProbeSteps { get; set; } = 300;

    /// <summary>Test images shown in the PCA figure.</summary>
    public int PcaImages { get; set; } = 4;
}
