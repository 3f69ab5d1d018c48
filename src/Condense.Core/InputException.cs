namespace Condense.Core;

/// <summary>
/// Bad input from the user: a missing or corrupt file, a wrong shape, an unknown option value, a NaN loss.
/// The message is one line that names the file, field or value. The CLI maps it to exit code 2.
/// </summary>
public class InputException : Exception
{
    public InputException(string message) : base(message) { }
    public InputException(string message, Exception inner) : base(message, inner) { }
}
