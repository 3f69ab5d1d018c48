namespace Condense.Core;

/// <summary>
/// Bad input from the user: a missing or corrupt file, a wrong shape, an unknown option value, a NaN loss.
/// The message is one line that names the file, field or value. The CLI maps it to exit code 2.
/// </summary>
/// <remarks>
/// An engine names its own option (<see cref="ForOption"/>: <c>Remove must be at least 0</c>), never a command-line
/// flag: a library user never typed one. The CLI turns <see cref="Option"/> into its flag in one place.
/// </remarks>
public class InputException : Exception
{
    /// <summary>An input error with a one-line <paramref name="message"/>.</summary>
    public InputException(string message) : base(message) { }

    /// <summary>An input error with a one-line <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public InputException(string message, Exception inner) : base(message, inner) { }

    /// <summary>An error about <paramref name="option"/> (see <see cref="ForOption"/>), for derived exceptions.</summary>
    protected InputException(string option, string detail) : this(option, detail, true) { }

    private InputException(string option, string detail, bool _) : base(Join(option, detail))
    {
        Option = option;
        Detail = detail;
    }

    /// <summary>The engine option (a property name of its options record, e.g. <c>CalibrationLength</c>) the error is about.</summary>
    public string? Option { get; }

    /// <summary>The message after the option name (e.g. <c>must be at least 0, got -1</c>).</summary>
    public string? Detail { get; }

    /// <summary>An error about one option: the message is the option name followed by <paramref name="detail"/>.</summary>
    public static InputException ForOption(string option, string detail)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(option);
        ArgumentNullException.ThrowIfNull(detail);
        return new InputException(option, detail, true);
    }

    /// <summary>The message with the option renamed (the CLI passes its flag).</summary>
    public string MessageWithOption(string name) => Option is null ? Message : Join(name, Detail!);

    private static string Join(string option, string detail) =>
        detail.Length > 0 && (detail[0] == ':' || detail[0] == ',') ? option + detail : $"{option} {detail}";
}
