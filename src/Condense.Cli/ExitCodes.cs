namespace Condense.Cli;

/// <summary>The process exit codes every command uses (documented in README.md).</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed (a required component is missing, training diverged, ...).</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or bad input: unknown option, missing or corrupt file, wrong shape or value.</summary>
    public const int BadInput = 2;
}
