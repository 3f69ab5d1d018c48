using Condense.Core;

namespace Condense.Cli.Tests;

/// <summary>The one mapping from an engine's option name to the flag the user typed.</summary>
public sealed class OptionFlagsTests
{
    [Theory]
    [InlineData("Remove", "--remove")]
    [InlineData("CalibrationLength", "--calibration-length")]
    [InlineData("TrainImages", "--train")]
    [InlineData("BudgetSeconds", "--budget")]
    public void Option_names_become_flags(string option, string flag) => Assert.Equal(flag, OptionFlags.For(option));

    [Fact]
    public void An_engine_error_is_printed_with_the_flag()
    {
        Assert.Equal("--remove must be at least 0, got -1", OptionFlags.Message(InputException.ForOption("Remove", "must be at least 0, got -1")));
        Assert.Equal("model.bin: not found", OptionFlags.Message(new InputException("model.bin: not found")));
    }
}
