// Shared assertion for bad input: an InputException whose message is one line and names the file.
namespace Condense.Core.Tests.Data;

internal static class Expect
{
    public static InputException BadInput(string path, string fragment, Action read)
    {
        var ex = Assert.Throws<InputException>(read);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        return ex;
    }
}
