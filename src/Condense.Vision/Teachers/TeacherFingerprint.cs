// Teacher fingerprints for the teacher cache: a SHA-256 over everything that can change a teacher's outputs,
// written as "key=value" lines so that no two different configurations can produce the same text.
using System.Security.Cryptography;
using System.Text;

namespace Condense.Vision.Teachers;

/// <summary>Builds teacher fingerprints for the teacher cache.</summary>
public static class TeacherFingerprint
{
    /// <summary>Lower-case hex SHA-256 of the "key=value" lines, in the order given.</summary>
    public static string Of(params (string Key, object Value)[] parts)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in parts)
        {
            var rendered = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
            if (key.Contains('=', StringComparison.Ordinal) || key.Contains('\n', StringComparison.Ordinal)
                || rendered is null || rendered.Contains('\n', StringComparison.Ordinal))
                throw new ArgumentException($"fingerprint part '{key}' cannot be written as one key=value line");
            text.Append(key).Append('=').Append(rendered).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
