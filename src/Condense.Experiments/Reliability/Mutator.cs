// Seeded mutations of a valid input, the kinds a corrupt download, a bad disk or a hostile user produce: flipped
// bits, integers overwritten with boundary values (in the header region half the time, where sizes live), cuts,
// appended junk, zeroed spans; for text, edits of numbers, brackets and spans. One case = one seed = one mutated
// input, so a failure is reproduced by its case number alone.
using System.Text.RegularExpressions;

namespace Condense.Experiments.Reliability;

/// <summary>Makes mutated copies of a valid input, deterministically for a given <see cref="Random"/>.</summary>
public static partial class Mutator
{
    private static readonly int[] BoundaryInts =
        [0, 1, -1, 2, 7, 255, 65536, 1 << 24, 1 << 29, 1 << 30, int.MaxValue, int.MinValue, 0x7FFFFFF0, -536870905];

    private static readonly string[] BoundaryNumbers =
        ["0", "-1", "1", "-4", "2147483647", "2147483648", "4294967296", "9223372036854775807", "99999999999999999999",
         "1e308", "1e-320", "-0", "0.5", "NaN", ".inf", "268435456"];

    private static readonly string[] TextJunk = ["[", "]", "{", "}", ":", ",", "\"", "'", "\n", "- ", "  ", "\t", "&a", "*a", "!!int", "\0", "null", "~"];

    /// <summary>A mutated copy of binary <paramref name="input"/> whose first <paramref name="headerBytes"/> bytes
    /// hold its sizes; <paramref name="description"/> says what was done.</summary>
    public static byte[] MutateBinary(byte[] input, int headerBytes, Random rng, out string description)
    {
        var bytes = (byte[])input.Clone();
        int Offset(int width) => rng.Next(2) == 0 && headerBytes > width
            ? rng.Next(headerBytes - width + 1)
            : rng.Next(Math.Max(1, bytes.Length - width + 1));
        switch (rng.Next(6))
        {
            case 0:
            {
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips && bytes.Length > 0; i++)
                {
                    int at = Offset(1);
                    bytes[at] ^= (byte)(1 << rng.Next(8));
                }
                description = $"{flips} bit flip(s)";
                return bytes;
            }
            case 1:
            {
                if (bytes.Length < 4) goto case 0;
                int at = Offset(4) & ~3, value = BoundaryInts[rng.Next(BoundaryInts.Length)];
                BitConverter.TryWriteBytes(bytes.AsSpan(Math.Min(at, bytes.Length - 4)), value);
                description = $"int32 at {at} = {value}";
                return bytes;
            }
            case 2:
            {
                int length = rng.Next(2) == 0 ? rng.Next(Math.Min(bytes.Length, headerBytes + 64) + 1) : rng.Next(bytes.Length + 1);
                description = $"cut to {length} bytes";
                return bytes[..length];
            }
            case 3:
            {
                var junk = new byte[1 + rng.Next(4096)];
                rng.NextBytes(junk);
                description = $"{junk.Length} random bytes appended";
                return [.. bytes, .. junk];
            }
            case 4:
            {
                int at = Offset(1), length = Math.Min(bytes.Length - at, 1 + rng.Next(256));
                byte fill = rng.Next(2) == 0 ? (byte)0 : (byte)0xFF;
                bytes.AsSpan(at, Math.Max(0, length)).Fill(fill);
                description = $"{length} bytes at {at} set to 0x{fill:X2}";
                return bytes;
            }
            default:
            {
                var junk = new byte[1 + rng.Next(64)];
                rng.NextBytes(junk);
                int at = Offset(junk.Length);
                junk.AsSpan(0, Math.Min(junk.Length, bytes.Length - at)).CopyTo(bytes.AsSpan(at));
                description = $"{junk.Length} random bytes written at {at}";
                return bytes;
            }
        }
    }

    /// <summary>A mutated copy of <paramref name="text"/> (JSON or YAML); <paramref name="description"/> says what was done.</summary>
    public static string MutateText(string text, Random rng, out string description)
    {
        switch (rng.Next(5))
        {
            case 0:
            {
                var numbers = Number().Matches(text);
                if (numbers.Count == 0) goto case 2;
                var m = numbers[rng.Next(numbers.Count)];
                var value = BoundaryNumbers[rng.Next(BoundaryNumbers.Length)];
                description = $"number '{m.Value}' at {m.Index} = {value}";
                return string.Concat(text.AsSpan(0, m.Index), value, text.AsSpan(m.Index + m.Length));
            }
            case 1:
            {
                int at = rng.Next(text.Length + 1);
                var junk = TextJunk[rng.Next(TextJunk.Length)];
                description = $"'{Escape(junk)}' inserted at {at}";
                return text.Insert(at, junk);
            }
            case 2:
            {
                if (text.Length == 0) goto case 1;
                int at = rng.Next(text.Length), length = Math.Min(text.Length - at, 1 + rng.Next(40));
                description = $"{length} characters deleted at {at}";
                return text.Remove(at, length);
            }
            case 3:
            {
                if (text.Length == 0) goto case 1;
                int at = rng.Next(text.Length), length = Math.Min(text.Length - at, 1 + rng.Next(80));
                int to = rng.Next(text.Length + 1);
                description = $"{length} characters from {at} copied to {to}";
                return text.Insert(to, text.Substring(at, length));
            }
            default:
            {
                int length = rng.Next(text.Length + 1);
                description = $"cut to {length} characters";
                return text[..length];
            }
        }
    }

    private static string Escape(string s) => s.Replace("\n", "\\n", StringComparison.Ordinal)
        .Replace("\t", "\\t", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal);

    [GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?", RegexOptions.CultureInvariant)]
    private static partial Regex Number();
}
