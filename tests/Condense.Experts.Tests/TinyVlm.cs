using Condense.Core.Training;
using Condense.Experts.Model;
using Condense.Experts.Training;
using Condense.Testing;

namespace Condense.Experts.Tests;

/// <summary>A VLM trained for a few steps of every stage (seconds), shared by the serving tests.</summary>
public sealed class TinyVlm : IDisposable
{
    private readonly TempFolder folder = new("condense-tiny-vlm-");

    public TinyVlm()
    {
        VlmTraining.Train(ColinAtlas.Value, Options(folder.Path));
        RunDir = folder.Path;
    }

    public string RunDir { get; }

    public static VlmTrainOptions Options(string runDir, long steps = 6) => new()
    {
        RunDir = runDir,
        BatchSize = 4,
        VisionSteps = steps,
        AlignSteps = steps,
        InstructSteps = steps,
        ExpertSteps = steps,
        CheckpointEvery = 3,
        Progress = ProgressMode.None,
        Model = new VlmConfig(ImagePixels: 32, PatchSize: 8, VisionDim: 32, VisionDepth: 1, VisionHeads: 2, Dim: 32, Layers: 1, Heads: 2, HiddenDim: 64),
    };

    public void Dispose() => folder.Dispose();
}
