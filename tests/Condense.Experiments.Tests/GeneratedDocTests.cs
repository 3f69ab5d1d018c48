namespace Condense.Experiments.Tests;

public sealed class GeneratedDocTests
{
    [Theory]
    [InlineData("--steps", "--steps")]
    [InlineData("../shared/models/llama2c/stories260K.bin", "../shared/models/llama2c/stories260K.bin")]
    [InlineData("train.seed=3", "train.seed=3")]
    [InlineData("^(?:[^\"]*\"){4}", "'^(?:[^\"]*\"){4}'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("two words", "'two words'")]
    [InlineData("", "''")]
    public void Echoed_arguments_read_back_the_same_in_a_shell(string argument, string quoted)
    {
        Assert.Equal(quoted, GeneratedDoc.ShellQuote(argument));
    }

    [Fact]
    public void A_quoted_argument_survives_a_real_shell()
    {
        const string argument = "^(?!(?:[^\"]*\"){4}) $HOME 'x' *";
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "printf %s " + GeneratedDoc.ShellQuote(argument)]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(argument, output);
    }
}
