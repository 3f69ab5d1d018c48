// One teacher of a distillation run with everything the run joins to it, so no step looks a teacher up by name in
// several dictionaries: the recipe entry, the built teacher, its train and test targets (cache or online), its loss
// weights, the training partitions (student resolutions) it is matched in, the spec of its adaptor heads and its
// measured cost. DistillSession builds one slot per teacher, in recipe order; the loss loop iterates the slots.
using Condense.Vision.Radio;
using Condense.Vision.Teachers;

namespace Condense.Vision.Distillation;

/// <summary>One teacher of a run: recipe entry, teacher, targets, loss weights, matched resolutions, adaptor spec, cost.</summary>
public sealed class TeacherSlot : IDisposable
{
    internal TeacherSlot(TeacherRecipe spec, ITeacher teacher, TeacherTargets train, TeacherTargets test, IReadOnlyList<int> resolutions)
    {
        Spec = spec;
        Teacher = teacher;
        Train = train;
        Test = test;
        Resolutions = resolutions;
        Weights = new TeacherLossWeights(spec.SummaryWeight, spec.FeatureWeight);
        Head = TeacherHeadSpec.From(teacher);
    }

    /// <summary>The teacher's recipe entry.</summary>
    public TeacherRecipe Spec { get; }

    /// <summary>The teacher's unique name (its adaptor's key and log label).</summary>
    public string Name => Spec.Name;

    /// <summary>The built, frozen teacher (a mosaic wrapper when the recipe asks for one).</summary>
    public ITeacher Teacher { get; }

    /// <summary>The teacher's outputs for the training images.</summary>
    public TeacherTargets Train { get; }

    /// <summary>The teacher's outputs for the held-out images.</summary>
    public TeacherTargets Test { get; }

    /// <summary>λ (summary) and γ (features) of this teacher's loss terms.</summary>
    public TeacherLossWeights Weights { get; }

    /// <summary>The training partitions (student resolutions) in which this teacher is matched.</summary>
    public IReadOnlyList<int> Resolutions { get; }

    /// <summary>What the teacher's adaptor heads predict (summary and feature widths).</summary>
    public TeacherHeadSpec Head { get; }

    /// <summary>The teacher's cost measured when the session filled its targets.</summary>
    public TeacherCostRow Cost { get; internal set; } = null!;

    /// <summary>Whether this teacher is matched in the partition at <paramref name="resolution"/>.</summary>
    public bool MatchedAt(int resolution) => Resolutions.Contains(resolution);

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        Teacher.Dispose();
    }
}
