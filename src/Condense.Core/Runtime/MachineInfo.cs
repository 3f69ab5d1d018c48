using System.Globalization;

namespace Condense.Core.Runtime;

/// <summary>A one-line description of the machine, written next to every benchmark result.</summary>
public static class MachineInfo
{
    /// <summary>e.g. "2 vCPU AMD EPYC 9R14"; the CPU model comes from /proc/cpuinfo where there is one.</summary>
    public static string Describe()
    {
        string cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        return string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} vCPU {cpu}");
    }
}
