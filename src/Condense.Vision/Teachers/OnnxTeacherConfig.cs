using System.Globalization;
using System.Text;

namespace Condense.Vision.Teachers;

/// <summary>
/// How to run an ONNX model as a teacher: which file, which input, how to turn [0, 1] RGB images into what the
/// model was trained on, and which graph values are the summary and the spatial features. Plain settable properties
/// with defaults so a YAML/JSON run file can fill it. <see cref="OnnxTeacher"/> checks it against the model.
/// Preprocessing order: resize to <see cref="InputSize"/>, reorder channels, multiply by <see cref="Scale"/>, then
/// subtract <see cref="Mean"/> and divide by <see cref="Std"/> (both given in the model's channel order).
/// </summary>
public sealed record OnnxTeacherConfig
{
    /// <summary>Short unique teacher name ("resnet18").</summary>
    public string Name { get; set; } = "onnx";

    /// <summary>The .onnx file.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The image input's name; null means the model's only input.</summary>
    public string? InputName { get; set; }

    /// <summary>Square side the model runs at; images are resized to it.</summary>
    public int InputSize { get; set; } = 224;

    /// <summary>"rgb" or "bgr": the channel order the model expects.</summary>
    public string ChannelOrder { get; set; } = "rgb";

    /// <summary>Pixels in [0, 1] are multiplied by this first (255 for models trained on 0..255).</summary>
    public float Scale { get; set; } = 1f;

    /// <summary>Per-channel mean subtracted after scaling, in the model's channel order.</summary>
    public float[] Mean { get; set; } = [0f, 0f, 0f];

    /// <summary>Per-channel divisor applied after the mean, in the model's channel order.</summary>
    public float[] Std { get; set; } = [1f, 1f, 1f];

    /// <summary>"float32" or "float16"; null reads it from the model. A value that disagrees with the model is an error.</summary>
    public string? InputType { get; set; }

    /// <summary>Graph value (output or intermediate) giving the summary, (B, C) or (B, C, h, w); null for none.</summary>
    public string? SummaryOutput { get; set; }

    /// <summary>"none" (the summary output must be (B, C) or (B, C, 1, 1)) or "mean" (average a 4-D one over h, w).</summary>
    public string SummaryPool { get; set; } = "none";

    /// <summary>Graph value (output or intermediate) giving the (B, C, h, w) features; null for none.</summary>
    public string? FeatureOutput { get; set; }

    /// <summary>Lift a batch dim fixed at 1 so a whole batch runs in one call (falls back to 1 when it fails).</summary>
    public bool DynamicBatch { get; set; } = true;

    /// <summary>
    /// Free the model's fixed H and W so it runs at <see cref="InputSize"/> though exported at another size
    /// (see <see cref="OnnxGraph"/> for the rewrites). Off: a fixed size different from InputSize is an error.
    /// </summary>
    public bool DynamicSpatial { get; set; }

    /// <summary>ONNX Runtime intra-op threads; null uses TorchSharp's thread count.</summary>
    public int? Threads { get; set; }

    /// <summary>
    /// Every setting that can change the teacher's outputs, as stable text for the fingerprint. Leaves out
    /// <see cref="ModelPath"/> (the file's hash stands in for it) and <see cref="Threads"/>.
    /// </summary>
    public string CanonicalText()
    {
        static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.Append("name=").Append(Name).Append(";input=").Append(InputName ?? "")
            .Append(";size=").Append(InputSize.ToString(CultureInfo.InvariantCulture))
            .Append(";order=").Append(ChannelOrder).Append(";scale=").Append(F(Scale))
            .Append(";mean=").Append(string.Join(",", Mean.Select(F)))
            .Append(";std=").Append(string.Join(",", Std.Select(F)))
            .Append(";type=").Append(InputType ?? "")
            .Append(";summary=").Append(SummaryOutput ?? "").Append(";pool=").Append(SummaryPool)
            .Append(";features=").Append(FeatureOutput ?? "")
            .Append(";batch=").Append(DynamicBatch).Append(";spatial=").Append(DynamicSpatial);
        return text.ToString();
    }
}
