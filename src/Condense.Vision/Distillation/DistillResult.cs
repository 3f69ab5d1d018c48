using System.Text.Json.Serialization;
using Condense.Core.Training;

namespace Condense.Vision.Distillation;

/// <summary>kNN and linear-probe top-1 on the held-out images for one summary embedding.</summary>
/// <param name="Embedding">What was classified, e.g. "resnet18 (teacher)", "resnet18 adaptor (student)".</param>
public sealed record ClassificationRow(string Embedding, double Knn, double Probe)
{
    /// <summary>Per held-out image, whether the kNN vote was right (for paired comparisons; not in the JSON).</summary>
    [JsonIgnore] public IReadOnlyList<bool>? KnnCorrect { get; init; }
}

/// <summary>Per teacher: its own kNN/probe accuracy and the student's through that teacher's adaptor.</summary>
public sealed record TeacherKnnRow(string Teacher, double TeacherKnn, double StudentKnn, double TeacherProbe, double StudentProbe)
{
    /// <summary>Per held-out image, whether the teacher's own kNN vote was right (not in the JSON).</summary>
    [JsonIgnore] public IReadOnlyList<bool>? TeacherKnnCorrect { get; init; }

    /// <summary>Per held-out image, whether the student's kNN vote through this teacher's adaptor was right (not in the JSON).</summary>
    [JsonIgnore] public IReadOnlyList<bool>? StudentKnnCorrect { get; init; }
}

/// <summary>Adaptor-vs-teacher agreement on held-out images, for one output (summary or features).</summary>
public sealed record FidelityRow(string Teacher, string Output, double Mse, double Cosine, double TeacherVariance, double Fidelity);

/// <summary>Per-teacher cost: seconds per image spent running the teacher (cache misses only).</summary>
public sealed record TeacherCostRow(string Teacher, int InputSize, long ImagesComputed, double MsPerImage, long CacheHits);

/// <summary>Everything a distillation run reports.</summary>
public sealed record DistillResult(
    string RunDir,
    string ReportPath,
    string ModelPath,
    string PcaPath,
    string DataSource,
    IReadOnlyList<TeacherKnnRow> Knn,
    ClassificationRow Combined,
    ClassificationRow BackboneSummary,
    IReadOnlyList<FidelityRow> Fidelity,
    IReadOnlyList<TeacherCostRow> TeacherCost,
    TrainResult? Training);

/// <summary>One point of the mode-switch sweep: adaptor fidelity for a teacher output at a student resolution.</summary>
public sealed record ModeSwitchRow(int Resolution, string Teacher, string Output, double Fidelity, double Cosine);
