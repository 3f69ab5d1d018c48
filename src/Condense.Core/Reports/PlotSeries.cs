// One named line of a chart: x values (usually training steps) and y values of the same length.
namespace Condense.Core.Reports;

/// <summary>One named line of a chart.</summary>
/// <param name="Name">The legend text.</param>
/// <param name="X">The x values (usually training steps).</param>
/// <param name="Y">The y values, one per x value.</param>
public sealed record PlotSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
