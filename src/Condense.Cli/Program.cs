using System.CommandLine;
using Condense.Cli.Commands;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Core.Training;

namespace Condense.Cli;

/// <summary>Entry point of the <c>condense</c> command-line tool.</summary>
public static class Program
{
    /// <summary>The process entry point: runs <paramref name="args"/> and returns the exit code.</summary>
    public static int Main(string[] args) => Run(args);

    // System.CommandLine lists an option's allowed values one per line ("Must be one of:\n\t'a'\n\t'b'"); an error is
    // one line here: "Argument 'sgd' not recognized. Must be one of: 'adamw', 'lamb'".
    private static string OneLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length <= 1 ? message.Trim() : lines[0] + " " + string.Join(", ", lines.Skip(1));
    }

    /// <summary>Parses and runs one command line; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args)
    {
        var root = BuildRoot();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Most specific first: an unrecognized token says more than "required command was not provided".
            var messages = parsed.Errors.Select(e => OneLine(e.Message)).OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1);
            CliOutput.Error($"{string.Join("; ", messages)} (see 'condense --help')");
            return ExitCodes.BadInput;
        }
        using var interruption = new Interruption();
        Interruption.Current = interruption;
        try
        {
            // Condense handles the signals itself (Interruption), so System.CommandLine's 2-second kill is off.
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return parsed.InvokeAsync(configuration, interruption.Token).GetAwaiter().GetResult();
        }
        catch (InputException ex)
        {
            CliOutput.Error(OptionFlags.Message(ex));
            return ExitCodes.BadInput;
        }
        catch (TorchLoadException ex)
        {
            CliOutput.Error(ex.Message);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is TrainingDivergedException or NonFiniteResultException)
        {
            CliOutput.Error(ex.Message);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException)
        {
            CliOutput.Error("interrupted; rerun the same command to resume from the last checkpoint");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("CONDENSE_DEBUG") is null)
        {
            // A bug, not bad input: one line here; CONDENSE_DEBUG=1 shows the stack trace.
            CliOutput.Error($"internal error: {ex.GetType().Name}: {ex.Message.Split('\n')[0]} (set CONDENSE_DEBUG=1 for details)");
            return ExitCodes.Failure;
        }
        finally
        {
            Interruption.Current = null;
        }
    }

    /// <summary>The command tree; one class per command under Commands/.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Condense: turn large foundation models into small, fast ones (distillation, sparsity, pruning, search).");
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(AssetsCommand.Create());
        root.Subcommands.Add(DistillCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(StudyCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(EvalPplCommand.Create());
        root.Subcommands.Add(SparsifyCommand.Create());
        root.Subcommands.Add(VerifySparsityCommand.Create());
        root.Subcommands.Add(PruneDepthCommand.Create());
        root.Subcommands.Add(ElasticCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(VlmCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());
        return root;
    }
}
