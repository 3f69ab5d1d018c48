// Options of the VLM's staged training, with defaults that run the four stages in well under 30 minutes on 2 cores.
using Condense.Core;
using Condense.Core.Training;
using Condense.Experts.Data;
using Condense.Experts.Model;

namespace Condense.Experts.Training;

/// <summary>How the VLM is trained.</summary>
public sealed record VlmTrainOptions
{
    /// <summary>Run folder: one sub-folder per stage, then vlm.safetensors, vlm.json and tokenizer.json.</summary>
    public required string RunDir { get; init; }

    /// <summary>Seeds initialisation and the data stream.</summary>
    public long Seed { get; init; }

    /// <summary>Conversations per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Stage 0, the learned segmentation expert (a small U-Net for lobes, half the batch size); not trained for the text-only floor.</summary>
    public long SegmenterSteps { get; init; } = 800;

    /// <summary>Stage 1, vision pre-training: per-patch atlas labels from the vision tower.</summary>
    public long VisionSteps { get; init; } = 300;

    /// <summary>Stage 2, alignment: slice captions; vision tower frozen, projector and decoder trained.</summary>
    public long AlignSteps { get; init; } = 400;

    /// <summary>Stage 3, instruction fine-tuning: questions answered directly; everything trained.</summary>
    public long InstructSteps { get; init; } = 600;

    /// <summary>Stage 4, expert-guided instruction fine-tuning: the trigger → expert → answer flow; everything trained.</summary>
    public long ExpertSteps { get; init; } = 1200;

    /// <summary>Peak learning rate of every stage.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>In stage 4, the share of conversations that list the experts (the rest answer directly, without cards).</summary>
    public double CardsFraction { get; init; } = 0.5;

    /// <summary>The text-only floor: no image and no experts; trained for stages 3 and 4's steps on direct answers.</summary>
    public bool TextOnly { get; init; }

    /// <summary>The architecture (its vocabulary size is set from the tokenizer).</summary>
    public VlmConfig Model { get; init; } = new();

    /// <summary>Augmentation of the training slices.</summary>
    public AugmentOptions Augment { get; init; } = new();

    /// <summary>The planes questions are asked about.</summary>
    public IReadOnlyList<SlicePlane> Planes { get; init; } = [SlicePlane.Axial, SlicePlane.Coronal];

    /// <summary>Progress output.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;

    /// <summary>Steps between checkpoints within a stage.</summary>
    public long CheckpointEvery { get; init; } = 100;

    /// <summary>Checks every field; errors name it.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunDir)) throw InputException.ForOption(nameof(RunDir), "must be a folder path");
        if (BatchSize < 1) throw InputException.ForOption(nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        foreach (var (name, steps) in new[] { (nameof(SegmenterSteps), SegmenterSteps), (nameof(VisionSteps), VisionSteps), (nameof(AlignSteps), AlignSteps), (nameof(InstructSteps), InstructSteps), (nameof(ExpertSteps), ExpertSteps) })
            if (steps < 0) throw InputException.ForOption(name, $"must be non-negative, got {steps}");
        if (SegmenterSteps == 0 && !TextOnly) throw InputException.ForOption(nameof(SegmenterSteps), "must be positive: the SEGMENT expert is trained in stage 0");
        if (InstructSteps + ExpertSteps == 0) throw InputException.ForOption(nameof(ExpertSteps), "and InstructSteps cannot both be 0");
        if (CardsFraction is < 0 or > 1) throw InputException.ForOption(nameof(CardsFraction), $"must be in [0, 1], got {CardsFraction}");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw InputException.ForOption(nameof(LearningRate), $"must be a positive number, got {LearningRate}");
        if (Planes.Count == 0) throw InputException.ForOption(nameof(Planes), "must name at least one plane");
    }
}
