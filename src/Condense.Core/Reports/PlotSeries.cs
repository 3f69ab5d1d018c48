// One named line of a chart: x values (usually training steps) and y values of the same length.
namespace Condense.Core.Reports;

public sealed record PlotSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
