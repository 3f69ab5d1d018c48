// How a 2-D image is cut from the volume: the plane, the slice index, and the in-plane augmentation (rotation,
// shift, zoom). One square field of view for every plane, so a pixel is the same size whatever the plane.
namespace Condense.Experts.Data;

/// <summary>The anatomical plane of a slice.</summary>
public enum SlicePlane
{
    /// <summary>Fixed k (superior-inferior): columns run left to right, rows anterior (top) to posterior.</summary>
    Axial,
    /// <summary>Fixed j (anterior-posterior): columns run left to right, rows superior (top) to inferior.</summary>
    Coronal,
    /// <summary>Fixed i (left-right): columns run posterior to anterior, rows superior (top) to inferior.</summary>
    Sagittal,
}

/// <summary>
/// A slice and the image transform applied to it. Image pixel (u, v), v down, maps to in-plane voxel coordinates
/// (a, b) of the plane's two free axes: the pixel's offset from the image centre is shifted, rotated and zoomed,
/// then scaled to millimetres (<see cref="FieldOfViewMm"/> across the image).
/// </summary>
/// <param name="Plane">Axial, coronal or sagittal.</param>
/// <param name="Index">The slice index along the plane's fixed axis.</param>
/// <param name="RotationDegrees">Counter-clockwise rotation of the anatomy in the image.</param>
/// <param name="ShiftX">Shift of the anatomy to the right, in pixels.</param>
/// <param name="ShiftY">Shift of the anatomy downwards, in pixels.</param>
/// <param name="Zoom">Magnification (1 = the field of view fills the image).</param>
public sealed record SliceView(SlicePlane Plane, int Index, double RotationDegrees = 0, double ShiftX = 0, double ShiftY = 0, double Zoom = 1)
{
    /// <summary>Millimetres across the image at zoom 1: the volume's longest side (217 mm for Colin27).</summary>
    public const double FieldOfViewMm = 217;

    /// <summary>Voxel (i, j, k) of in-plane coordinates (a, b) on this slice.</summary>
    public (double I, double J, double K) Voxel(double a, double b) => Plane switch
    {
        SlicePlane.Axial => (a, b, Index),
        SlicePlane.Coronal => (a, Index, b),
        _ => (Index, a, b),
    };

    /// <summary>In-plane coordinates (a, b) of voxel (i, j, k) (its fixed coordinate is ignored).</summary>
    public (double A, double B) InPlane(double i, double j, double k) => Plane switch
    {
        SlicePlane.Axial => (i, j),
        SlicePlane.Coronal => (i, k),
        _ => (j, k),
    };

    /// <summary>Extent of the two free axes for a volume of <paramref name="size"/>.</summary>
    public (int A, int B) PlaneSize((int X, int Y, int Z) size) => Plane switch
    {
        SlicePlane.Axial => (size.X, size.Y),
        SlicePlane.Coronal => (size.X, size.Z),
        _ => (size.Y, size.Z),
    };

    /// <summary>In-plane coordinates (a, b) seen at image pixel centre (u, v) of an image <paramref name="pixels"/> wide.</summary>
    public (double A, double B) FromPixel(double u, double v, int pixels, (int X, int Y, int Z) size)
    {
        var (na, nb) = PlaneSize(size);
        double mmPerPixel = FieldOfViewMm / pixels / Zoom;
        double x = u + 0.5 - pixels / 2.0 - ShiftX, y = v + 0.5 - pixels / 2.0 - ShiftY;
        double t = -RotationDegrees * Math.PI / 180, c = Math.Cos(t), s = Math.Sin(t);
        double rx = c * x - s * y, ry = s * x + c * y;
        // Rows go down the image while b grows up (anterior for axial, superior otherwise).
        return ((na - 1) / 2.0 + rx * mmPerPixel, (nb - 1) / 2.0 - ry * mmPerPixel);
    }

    /// <summary>Image pixel (u, v) (continuous, pixel centres at integers) where in-plane point (a, b) appears.</summary>
    public (double U, double V) ToPixel(double a, double b, int pixels, (int X, int Y, int Z) size)
    {
        var (na, nb) = PlaneSize(size);
        double mmPerPixel = FieldOfViewMm / pixels / Zoom;
        double rx = (a - (na - 1) / 2.0) / mmPerPixel, ry = -(b - (nb - 1) / 2.0) / mmPerPixel;
        double t = RotationDegrees * Math.PI / 180, c = Math.Cos(t), s = Math.Sin(t);
        double x = c * rx - s * ry, y = s * rx + c * ry;
        return (x + ShiftX + pixels / 2.0 - 0.5, y + ShiftY + pixels / 2.0 - 0.5);
    }
}
