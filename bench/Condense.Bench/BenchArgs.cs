// `--key value` parsing shared by the bench subcommands: each subcommand maps keys onto its options record.
using System.Globalization;

namespace Condense.Bench;

/// <summary>Folds `--key value` pairs (after the subcommand name) into an options record.</summary>
public static class BenchArgs
{
    /// <summary>Gives the value after the current key.</summary>
    public sealed class Reader(string[] args, Func<int> advance)
    {
        public string Value() => args[advance()];

        public int Int() => int.Parse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>Applies <paramref name="apply"/>(key, reader, options) to every key of args[1..].</summary>
    public static T Parse<T>(string[] args, T options, Func<string, Reader, T, T> apply)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(apply);
        for (int i = 1; i < args.Length; i++)
        {
            string key = args[i];
            var reader = new Reader(args, () => i + 1 < args.Length ? ++i : throw new ArgumentException($"{key} needs a value"));
            options = apply(key, reader, options);
        }
        return options;
    }
}
