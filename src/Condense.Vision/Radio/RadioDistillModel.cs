// Student plus per-teacher adaptors, the trainable part of AM-RADIO agglomerative distillation
// (arXiv:2312.06709, section 3). Reference: NVlabs/RADIO, radio/radio_model.py (RADIOModel: `model`, `adaptors`
// ModuleDict keyed by teacher name, each adaptor reading the summary token at its head_idx) with
// radio/adaptor_generic.py (GenericAdaptor).
//
// State-dict names: `model.*` (the student, see RadioStudent), `adaptors.{teacher}.head_mlp.*` and
// `adaptors.{teacher}.feat_mlp.*` (see Mlp2), as the reference's RADIOModel with adaptors.
//
// Deviations:
// - The student's NumClsTokens is set to the number of teachers with a summary; summary token i belongs to the
//   i-th such teacher in the given order (the reference's head_idx). Teachers without a summary get no token.
// - The backbone summary concatenates every summary token (the reference selects summary_idxs).
// - The adaptor hidden width defaults to the largest teacher width (summary or feature), as the paper.
// - The student may also be any registered backbone (BackboneStudent); its one summary vector then feeds every
//   summary head.
using Condense.Vision.Teachers;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>What the student and its adaptors produce for a batch.</summary>
/// <param name="Summary">(B, NumCls * D): every summary token, concatenated in teacher order.</param>
/// <param name="Student">The raw student outputs.</param>
/// <param name="Teachers">Per teacher name, the adaptor's prediction: summary (B, Cs) and features
/// (B, Cf, GridH, GridW) on the student's grid, each null where the teacher has none.</param>
public sealed record DistillOutput(Tensor Summary, StudentOutput Student,
    IReadOnlyDictionary<string, TeacherOutput> Teachers);

/// <summary>The AM-RADIO student with one adaptor (summary head and feature head) per teacher.</summary>
public sealed class RadioDistillModel : Module<Tensor, DistillOutput>
{
    private readonly Module<Tensor, StudentOutput> model;
    private readonly ModuleDict<TeacherAdaptor> adaptors;
    private readonly Dictionary<string, int> summarySlot;
    private readonly Normalization.TeacherNormalizers? normalizers;
    private readonly TeacherLossBalancer? balancer;

    /// <param name="studentConfig">Student sizes; NumClsTokens is replaced by the number of summary teachers.</param>
    /// <param name="teachers">The teachers, in order; names must be unique and free of '.'.</param>
    /// <param name="adaptorHiddenDim">Hidden width of every head; null for the largest teacher width.</param>
    /// <param name="numInner">Residual inner blocks per head (0 = the paper's 2-layer head).</param>
    /// <param name="preNorm">Whether every head starts with LayerNorm and GELU.</param>
    /// <param name="featureNormalizers">PHI-S-style normalizers of the teachers' feature targets (the feature heads
    /// then predict in normalized space); kept here so their state travels with the model's checkpoints.</param>
    public RadioDistillModel(RadioStudentConfig studentConfig, IReadOnlyList<TeacherHeadSpec> teachers,
        int? adaptorHiddenDim = null, int numInner = 0, bool preNorm = false,
        Normalization.TeacherNormalizers? featureNormalizers = null, TeacherLossBalancer? lossBalancer = null)
        : this(CreateStudent(studentConfig, teachers), studentConfig.EmbedDim, studentConfig.EmbedDim, teachers,
            adaptorHiddenDim, numInner, preNorm, featureNormalizers, lossBalancer)
    {
    }

    /// <summary>Any distillation student (the RADIO ViT, or a registered backbone in a <see cref="BackboneStudent"/>).</summary>
    public RadioDistillModel(IDistillStudent student, IReadOnlyList<TeacherHeadSpec> teachers, int? adaptorHiddenDim = null,
        int numInner = 0, bool preNorm = false, Normalization.TeacherNormalizers? featureNormalizers = null,
        TeacherLossBalancer? lossBalancer = null)
        : this((student ?? throw new ArgumentNullException(nameof(student))).StudentModule, student.SummaryTokenDim, student.FeatureDim,
            teachers, adaptorHiddenDim, numInner, preNorm, featureNormalizers, lossBalancer)
    {
    }

    /// <summary>
    /// Any student module (e.g. <see cref="BackboneStudent"/>) whose summary is (B, T, <paramref name="summaryDim"/>)
    /// and patches (B, N, <paramref name="featureDim"/>); with T = 1 every summary teacher reads that one vector.
    /// </summary>
    public RadioDistillModel(Module<Tensor, StudentOutput> student, int summaryDim, int featureDim,
        IReadOnlyList<TeacherHeadSpec> teachers, int? adaptorHiddenDim = null, int numInner = 0, bool preNorm = false,
        Normalization.TeacherNormalizers? featureNormalizers = null, TeacherLossBalancer? lossBalancer = null) : base(nameof(RadioDistillModel))
    {
        ArgumentNullException.ThrowIfNull(student);
        summarySlot = SummarySlots(teachers);
        int hidden = adaptorHiddenDim ?? teachers.Max(t => Math.Max(t.SummaryDim ?? 0, t.FeatureDim ?? 0));
        model = student;
        SummaryWidth = summaryDim;
        FeatureWidth = featureDim;
        adaptors = ModuleDict(teachers
            .Select(t => (t.Name, new TeacherAdaptor(t, summaryDim, hidden, numInner, preNorm, featureDim))).ToArray());
        Teachers = teachers.ToArray();
        normalizers = featureNormalizers;
        balancer = lossBalancer;
        RegisterComponents();
    }

    private static RadioStudent CreateStudent(RadioStudentConfig studentConfig, IReadOnlyList<TeacherHeadSpec> teachers)
    {
        ArgumentNullException.ThrowIfNull(studentConfig);
        return new RadioStudent(studentConfig with { NumClsTokens = SummarySlots(teachers).Count });
    }

    // Checks the teachers; summary slot i belongs to the i-th teacher with a summary.
    private static Dictionary<string, int> SummarySlots(IReadOnlyList<TeacherHeadSpec> teachers)
    {
        ArgumentNullException.ThrowIfNull(teachers);
        if (teachers.Count == 0) throw new ArgumentException("AM-RADIO needs at least one teacher.");
        var slots = new Dictionary<string, int>();
        foreach (var t in teachers)
        {
            if (string.IsNullOrWhiteSpace(t.Name) || t.Name.Contains('.', StringComparison.Ordinal))
                throw new ArgumentException($"Teacher name '{t.Name}' is empty or contains '.'.");
            if (t.SummaryDim is null && t.FeatureDim is null)
                throw new ArgumentException($"Teacher '{t.Name}' has neither a summary nor features.");
            if (t.SummaryDim <= 0 || t.FeatureDim <= 0)
                throw new ArgumentException($"Teacher '{t.Name}' has a non-positive width.");
            if (slots.ContainsKey(t.Name) || teachers.Count(o => o.Name == t.Name) > 1)
                throw new ArgumentException($"Teacher name '{t.Name}' is used twice.");
            if (t.SummaryDim is not null) slots[t.Name] = slots.Count;
        }
        return slots;
    }

    /// <summary>The ViT student; throws for a model built around another backbone (see <see cref="StudentModule"/>).</summary>
    public RadioStudent Student => model as RadioStudent
        ?? throw new InvalidOperationException($"the student is a {model.GetType().Name}, not the RADIO ViT");

    /// <summary>The student: a RadioStudent, or a BackboneStudent around a registered backbone.</summary>
    public Module<Tensor, StudentOutput> StudentModule => model;

    /// <summary>Width of one student summary token (what each summary head reads).</summary>
    public int SummaryWidth { get; }

    /// <summary>Width of the student's patch tokens (what each feature head reads).</summary>
    public int FeatureWidth { get; }

    /// <summary>The feature-target normalizers, or null for AM-RADIO's raw targets.</summary>
    public Normalization.TeacherNormalizers? FeatureNormalizers => normalizers;

    /// <summary>How per-teacher losses are combined (null: equal weights); its state is part of the model.</summary>
    public TeacherLossBalancer? LossBalancer => balancer;

    /// <summary>The teachers, in order.</summary>
    public IReadOnlyList<TeacherHeadSpec> Teachers { get; }

    /// <summary>The adaptor of one teacher.</summary>
    public TeacherAdaptor Adaptor(string teacher) => adaptors[teacher];

    /// <summary>Index of a teacher's token in <see cref="StudentOutput.Summary"/>, or null without one.</summary>
    public int? SummaryTokenIndex(string teacher) => summarySlot.TryGetValue(teacher, out int i) ? i : null;

    /// <inheritdoc />
    public override DistillOutput forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var student = model.call(images);
        long B = student.Summary.shape[0];
        var summary = student.Summary.reshape(B, -1);                       // (B, NumCls * D)
        var predictions = new Dictionary<string, TeacherOutput>();
        foreach (var t in Teachers)
        {
            // one summary vector (a backbone student) is shared by every summary head
            var token = SummaryTokenIndex(t.Name) is int i ? student.Summary.select(1, student.Summary.shape[1] == 1 ? 0 : i) : null;   // (B, D)
            var p = adaptors[t.Name].Forward(token, student);
            p.Summary?.MoveToOuterDisposeScope();
            p.Features?.MoveToOuterDisposeScope();
            predictions[t.Name] = p;
        }
        student.Summary.MoveToOuterDisposeScope();
        student.Patches.MoveToOuterDisposeScope();
        return new DistillOutput(summary.MoveToOuterDisposeScope(), student, predictions);
    }
}
