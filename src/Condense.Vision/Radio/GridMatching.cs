// Bringing student and teacher feature maps to one grid before the feature loss (AM-RADIO, arXiv:2312.06709,
// section 3.3: "bilinearly interpolate the outputs to match the larger resolution between the student and teacher
// features"). Reference: the public NVlabs/RADIO repository holds no training loss; NVIDIA's TAO port
// (nvidia_tao_pytorch, RADIO distillation loss) interpolates both maps bilinearly with align_corners=True, to the
// smaller shape ("diff from original code (max(s, t))"). Notes: /work/shared/research/radio.md, section 1.3.
//
// Deviations:
// - The common grid is chosen per axis, so non-square maps work: "larger" takes max(hs, ht) x max(ws, wt),
//   "smaller" the minimum, "student" / "teacher" one side's grid. A map already on the target grid is returned
//   untouched (no interpolation call).
// - align_corners defaults to True as TAO (the only public training code); callers can switch it off.
using Condense.Core;
using static TorchSharp.torch;

namespace Condense.Vision.Radio;

/// <summary>Which grid the student and teacher feature maps are compared on.</summary>
public enum GridMatchMode
{
    /// <summary>Per axis, the larger of the two grids (AM-RADIO).</summary>
    Larger,

    /// <summary>Per axis, the smaller of the two grids (TAO port).</summary>
    Smaller,

    /// <summary>The student's grid.</summary>
    Student,

    /// <summary>The teacher's grid.</summary>
    Teacher,
}

/// <summary>Bilinear resizing of (B, C, h, w) feature maps to a common grid.</summary>
public static class GridMatching
{
    /// <summary>Parses "larger", "smaller", "student" or "teacher" (any case); else an InputException.</summary>
    public static GridMatchMode ParseMode(string text) => text?.Trim().ToUpperInvariant() switch
    {
        "LARGER" => GridMatchMode.Larger,
        "SMALLER" => GridMatchMode.Smaller,
        "STUDENT" => GridMatchMode.Student,
        "TEACHER" => GridMatchMode.Teacher,
        _ => throw new InputException(
            $"Unknown grid matching mode '{text}'; expected larger, smaller, student or teacher."),
    };

    /// <summary>The common grid (rows, columns) for a student grid and a teacher grid.</summary>
    public static (long H, long W) TargetGrid(long studentH, long studentW, long teacherH, long teacherW,
        GridMatchMode mode) => mode switch
        {
            GridMatchMode.Larger => (Math.Max(studentH, teacherH), Math.Max(studentW, teacherW)),
            GridMatchMode.Smaller => (Math.Min(studentH, teacherH), Math.Min(studentW, teacherW)),
            GridMatchMode.Student => (studentH, studentW),
            GridMatchMode.Teacher => (teacherH, teacherW),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
        };

    /// <summary>Bilinearly resizes a (B, C, h, w) map to (B, C, H, W); returns the same tensor when it fits.</summary>
    public static Tensor Resize(Tensor map, long H, long W, bool alignCorners = true)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.dim() != 4) throw new ArgumentException($"Expected a (B, C, h, w) map, got {map.dim()} dims.");
        if (map.shape[2] == H && map.shape[3] == W) return map;
        return nn.functional.interpolate(map, size: [H, W], mode: InterpolationMode.Bilinear,
            align_corners: alignCorners);                                 // (B, C, H, W)
    }

    /// <summary>
    /// Resizes the student map (B, Cf, hs, ws) and the teacher map (B, Cf, ht, wt) to the grid the mode picks;
    /// either result is the input tensor itself when it already has that grid.
    /// </summary>
    public static (Tensor Student, Tensor Teacher) Match(Tensor student, Tensor teacher,
        GridMatchMode mode = GridMatchMode.Larger, bool alignCorners = true)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (student.dim() != 4 || teacher.dim() != 4)
            throw new ArgumentException("Grid matching expects (B, C, h, w) maps.");
        var (H, W) = TargetGrid(student.shape[2], student.shape[3], teacher.shape[2], teacher.shape[3], mode);
        return (Resize(student, H, W, alignCorners), Resize(teacher, H, W, alignCorners));
    }
}
