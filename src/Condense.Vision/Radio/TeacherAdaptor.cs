// The per-teacher adaptor of AM-RADIO (arXiv:2312.06709, section 3.2): one summary head fed with the teacher's own
// summary token and one feature head applied to every patch token. Reference: NVlabs/RADIO,
// radio/adaptor_generic.py (GenericAdaptor: `head_mlp` and `feat_mlp`, features returned NCHW on the student grid).
//
// Deviations:
// - A teacher without a summary gets no `head_mlp`, one without spatial features no `feat_mlp` (the reference
//   always builds both).
// - No upsampling feature head; the feature map stays on the student's token grid (GridMatching does the rest).
using Condense.Vision.Teachers;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Radio;

/// <summary>The widths of one teacher's outputs, as the adaptors need them.</summary>
/// <param name="Name">Unique teacher name; the adaptor's key.</param>
/// <param name="SummaryDim">Width of the teacher's summary, or null when it has none (then no summary token).</param>
/// <param name="FeatureDim">Channels of the teacher's feature map, or null when it has none.</param>
public sealed record TeacherHeadSpec(string Name, int? SummaryDim, int? FeatureDim)
{
    /// <summary>The spec of a live teacher.</summary>
    public static TeacherHeadSpec From(ITeacher teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return new(teacher.Name, teacher.SummaryDim, teacher.FeatureDim);
    }
}

/// <summary>One teacher's summary and feature heads over the student's outputs.</summary>
public sealed class TeacherAdaptor : Module
{
    private readonly Mlp2? head_mlp;
    private readonly Mlp2? feat_mlp;

    /// <param name="studentFeatureDim">Width of the student's patch tokens when it differs from its summary width
    /// <paramref name="studentDim"/> (e.g. E-RADIO's neck); null = the same.</param>
    public TeacherAdaptor(TeacherHeadSpec spec, int studentDim, int hiddenDim, int numInner = 0,
        bool preNorm = false, int? studentFeatureDim = null) : base(nameof(TeacherAdaptor))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        if (spec.SummaryDim is int cs) head_mlp = new Mlp2(studentDim, hiddenDim, cs, numInner, preNorm);
        if (spec.FeatureDim is int cf) feat_mlp = new Mlp2(studentFeatureDim ?? studentDim, hiddenDim, cf, numInner, preNorm);
        RegisterComponents();
    }

    /// <summary>The teacher this adaptor imitates.</summary>
    public TeacherHeadSpec Spec { get; }

    /// <summary>The summary head, or null for a teacher without a summary.</summary>
    internal Mlp2? HeadMlp => head_mlp;

    /// <summary>The feature head, or null for a teacher without spatial features.</summary>
    internal Mlp2? FeatMlp => feat_mlp;

    /// <summary>
    /// Predicts the teacher's outputs from the student's: <paramref name="summaryToken"/> (B, D) is this
    /// teacher's summary token (ignored, and may be null, without a summary head); the features come from the
    /// student's patch tokens. Returns summary (B, Cs) and features (B, Cf, GridH, GridW), either null as the spec.
    /// </summary>
    public TeacherOutput Forward(Tensor? summaryToken, StudentOutput student)
    {
        ArgumentNullException.ThrowIfNull(student);
        using var scope = NewDisposeScope();
        Tensor? summary = null, features = null;
        if (head_mlp is not null)
        {
            if (summaryToken is null)
                throw new ArgumentException($"Adaptor '{Spec.Name}' has a summary head but got no summary token.");
            summary = head_mlp.call(summaryToken).MoveToOuterDisposeScope();   // (B, Cs)
        }
        if (feat_mlp is not null)
        {
            long B = student.Patches.shape[0];
            var f = feat_mlp.call(student.Patches);                             // (B, h*w, Cf)
            features = f.transpose(1, 2)
                .reshape(B, feat_mlp.OutputDim, student.GridH, student.GridW)   // (B, Cf, h, w)
                .MoveToOuterDisposeScope();
        }
        return new TeacherOutput(summary, features);
    }
}
