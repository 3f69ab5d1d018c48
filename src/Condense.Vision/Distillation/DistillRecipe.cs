namespace Condense.Vision.Distillation;

/// <summary>
/// A distillation recipe, as written in <c>configs/radio/*.yaml</c> (snake_case keys). Every field has a default;
/// unknown keys are errors. See <see cref="RecipeLoader"/> for loading and key=value overrides. Recipes are
/// immutable: change one with <c>with</c> (<c>recipe with { Train = recipe.Train with { Steps = 10 } }</c>).
/// </summary>
public sealed record DistillRecipe
{
    /// <summary>Recipe name, shown in logs and reports.</summary>
    public string Name { get; init; } = "default";
    /// <summary>The dataset, image counts and resolutions.</summary>
    public DataRecipe Data { get; init; } = new();
    /// <summary>The student backbone and its size.</summary>
    public StudentRecipe Student { get; init; } = new();
    /// <summary>The per-teacher adaptor heads.</summary>
    public AdaptorRecipe Adaptor { get; init; } = new();
    /// <summary>The teachers, in order.</summary>
    public IReadOnlyList<TeacherRecipe> Teachers { get; init; } = [];
    /// <summary>The distillation loss and the normalization of its targets.</summary>
    public LossRecipe Loss { get; init; } = new();
    /// <summary>Optimizer, schedule, checkpoints and the teacher cache.</summary>
    public TrainRecipe Train { get; init; } = new();
    /// <summary>The kNN and linear-probe evaluation.</summary>
    public EvalRecipe Eval { get; init; } = new();

    /// <summary>The recipe with only the named teachers (in recipe order); an unknown name is an input error.</summary>
    public DistillRecipe WithTeachers(IEnumerable<string> names)
    {
        var wanted = names.ToList();
        foreach (var n in wanted)
            if (!Teachers.Any(t => t.Name == n))
                throw Condense.Core.InputException.ForOption("Teachers", $": no teacher '{n}' in recipe '{Name}' (has: {string.Join(", ", Teachers.Select(t => t.Name))})");
        return this with { Teachers = [.. Teachers.Where(t => wanted.Contains(t.Name))] };
    }
}

/// <summary>The <c>data</c> section of a recipe: dataset, image counts and resolutions.</summary>
public sealed record DataRecipe
{
    /// <summary>"fashion-mnist" (full set when installed, else the test set shipped in assets/) or "mnist" (../shared).</summary>
    public string Dataset { get; init; } = "fashion-mnist";

    /// <summary>Images the student is distilled on; also the kNN bank and probe training set.</summary>
    public int TrainImages { get; init; } = 4000;

    /// <summary>Held-out images for kNN/probe queries, fidelity and the PCA figure.</summary>
    public int TestImages { get; init; } = 1000;

    /// <summary>Student input resolution (a multiple of the student's patch size); evaluation runs at it.</summary>
    public int Resolution { get; init; } = 32;

    /// <summary>
    /// Multi-resolution training (RADIOv2.5): each step's batch is split evenly into one partition per listed
    /// resolution, all trained at once. Empty = one partition at <see cref="Resolution"/>.
    /// </summary>
    public IReadOnlyList<int> TrainResolutions { get; init; } = [];

    /// <summary>The resolutions of the training partitions: <see cref="TrainResolutions"/>, or <see cref="Resolution"/> alone.</summary>
    public IReadOnlyList<int> Partitions() => TrainResolutions.Count > 0 ? TrainResolutions : [Resolution];
}

/// <summary>The <c>student</c> section of a recipe: the student backbone and, for radio_vit, its size.</summary>
public sealed record StudentRecipe
{
    /// <summary>
    /// Registry name of the student backbone: radio_vit (the AM-RADIO ViT sized by the fields below) or any
    /// Condense.Vision.Models.ModelRegistry name (fastervit_*, eradio*, vit_*), built at its registry size.
    /// </summary>
    public string Model { get; init; } = "radio_vit";
    /// <summary>Patch side in pixels (radio_vit).</summary>
    public int PatchSize { get; init; } = 4;
    /// <summary>Token width (radio_vit).</summary>
    public int EmbedDim { get; init; } = 128;
    /// <summary>Number of transformer blocks (radio_vit).</summary>
    public int Depth { get; init; } = 6;
    /// <summary>Attention heads per block (radio_vit).</summary>
    public int NumHeads { get; init; } = 4;
    /// <summary>MLP hidden width as a multiple of the token width (radio_vit).</summary>
    public double MlpRatio { get; init; } = 4;

    /// <summary>The CPE table covers this resolution (positions per side = max_resolution / patch_size).</summary>
    public int MaxResolution { get; init; } = 64;

    /// <summary>Registers beside the summary tokens; -1 = the reference's register_multiple rule.</summary>
    public int NumRegisters { get; init; } = -1;
}

/// <summary>The <c>adaptor</c> section of a recipe: the per-teacher summary and feature heads.</summary>
public sealed record AdaptorRecipe
{
    /// <summary>Hidden width of the mlp_v2 heads; 0 = the largest teacher width (AM-RADIO default).</summary>
    public int Hidden { get; init; }

    /// <summary>Residual LN-GELU-Linear blocks between fc1 and the final layer.</summary>
    public int NumInner { get; init; }
}

/// <summary>One entry of a recipe's <c>teachers</c> list.</summary>
public sealed record TeacherRecipe
{
    /// <summary>Unique name (adaptor and log label).</summary>
    public string Name { get; init; } = "";

    /// <summary>Registered teacher kind, e.g. resnet18, squeezenet, resnet8_cifar10, mobilenetv1_vww, hog, onnx.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Resolution the teacher runs at; null = the kind's default.</summary>
    public int? InputSize { get; init; }

    /// <summary>
    /// The training partitions (student resolutions) this teacher is matched in; empty = all. Listing only the high
    /// resolution reproduces AM-RADIO's SAM-only-at-1024 setup, whose resolution "mode switch" RADIOv2.5 fixes.
    /// </summary>
    public IReadOnlyList<int> Resolutions { get; init; } = [];

    /// <summary>λ: weight of this teacher's summary loss (ignored for teachers without a summary).</summary>
    public double SummaryWeight { get; init; } = 1.0;

    /// <summary>γ: weight of this teacher's feature loss.</summary>
    public double FeatureWeight { get; init; } = 1.0;

    /// <summary>
    /// Mosaic tiles per side (RADIOv2.5): 1 = off; k packs k×k images into the teacher's canvas (each image at
    /// input_size / k) and cuts the feature map back into tiles. Features only: the summary is dropped.
    /// </summary>
    public int Mosaic { get; init; } = 1;

    /// <summary>Kind-specific options (e.g. an ONNX teacher's model_path, input_name, outputs).</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
}

/// <summary>The <c>loss</c> section of a recipe: distillation loss terms, target normalization and loss balancing.</summary>
public sealed record LossRecipe
{
    /// <summary>α in L_match = α·L_cos + β·SmoothL1 (AM-RADIO: 0.9).</summary>
    public double FeatureCosineWeight { get; init; } = 0.9;

    /// <summary>β in L_match (AM-RADIO: 0.1).</summary>
    public double FeatureSmoothL1Weight { get; init; } = 0.1;

    /// <summary>β of the SmoothL1 term: the error below which it is quadratic (PyTorch's default 1.0).</summary>
    public double SmoothL1Beta { get; init; } = 1.0;

    /// <summary>The magnitude term of the hybrid feature loss: smooth_l1 (AM-RADIO) or mse (PHI-S "Hyb-MSE").</summary>
    public string FeatureDistance { get; init; } = "smooth_l1";

    /// <summary>
    /// Normalization of teacher feature targets: "none" (AM-RADIO: cosine + SmoothL1 on raw targets) or a PHI-S
    /// paper normalizer with an MSE loss in normalized space: mse, global-std, std, pca-w, zca, hca, phi-s.
    /// </summary>
    public string FeatureNormalizer { get; init; } = "none";

    /// <summary>How teacher losses are combined: equal (AM-RADIO), adaloss (1 / EMA of each loss) or uncertainty.</summary>
    public string Balancing { get; init; } = "equal";

    /// <summary>Steps between re-fits of the online normalizer statistics.</summary>
    public int NormalizerUpdatePeriod { get; init; } = 100;

    /// <summary>Feature vectors after which the statistics freeze; 0 = 1000 × channels.</summary>
    public long NormalizerWarmupSamples { get; init; }

    /// <summary>
    /// Training step from which every teacher's normalizer is fitted one last time and frozen, whatever its sample
    /// count, so all teachers (and all arms of a study) freeze at the same point; 0 = only by sample count.
    /// </summary>
    public long NormalizerFreezeStep { get; init; }

    /// <summary>larger (AM-RADIO), smaller, student or teacher.</summary>
    public string GridMatching { get; init; } = "larger";
}

/// <summary>The <c>train</c> section of a recipe: optimizer, schedule, checkpoints and the teacher cache.</summary>
public sealed record TrainRecipe
{
    /// <summary>Optimizer steps to train.</summary>
    public long Steps { get; init; } = 1500;
    /// <summary>Training images per step (the last incomplete batch of an epoch is dropped).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>"adamw" or "lamb".</summary>
    public string Optimizer { get; init; } = "lamb";
    /// <summary>Peak learning rate, reached after the warmup.</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Learning rate at the end of the cosine decay (capped at <see cref="LearningRate"/>).</summary>
    public double MinLearningRate { get; init; } = 2e-5;
    /// <summary>Linear warmup steps (capped at <see cref="Steps"/>).</summary>
    public long WarmupSteps { get; init; } = 100;
    /// <summary>Decoupled weight decay of the optimizer.</summary>
    public double WeightDecay { get; init; } = 0.02;
    /// <summary>Max global gradient L2 norm; 0 disables clipping.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Seed of the model initialization and the batch order.</summary>
    public long Seed { get; init; }
    /// <summary>Steps between checkpoints; 0 writes only the final one.</summary>
    public long CheckpointEvery { get; init; } = 250;

    /// <summary>Store teacher outputs on disk and reuse them across epochs and runs.</summary>
    public bool Cache { get; init; } = true;

    /// <summary>Cache folder; empty = artifacts/teacher-cache under the repository (or ./teacher-cache).</summary>
    public string CacheDir { get; init; } = "";
}

/// <summary>The <c>eval</c> section of a recipe: kNN, linear probe and the PCA figure.</summary>
public sealed record EvalRecipe
{
    /// <summary>Neighbours that vote in the kNN classifier.</summary>
    public int KnnK { get; init; } = 20;
    /// <summary>Temperature T of the kNN vote weights exp(similarity / T).</summary>
    public double KnnTemperature { get; init; } = 0.07;
    /// <summary>Full-batch optimizer steps of the linear probe.</summary>
    public int ProbeSteps { get; init; } = 300;

    /// <summary>Test images shown in the PCA figure.</summary>
    public int PcaImages { get; init; } = 4;
}
