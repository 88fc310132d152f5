using System.CommandLine;
using System.CommandLine.Parsing;
using BRun.Diagnostics.Cli.Commands;
using BRun.Diagnostics.Infrastructure.Design;
using Npgsql;

namespace BRun.Diagnostics.Cli;

/// <summary>
/// Builds the <c>brun</c> command tree (each sub-command in its own file under Commands/) and runs it with one
/// error policy for every command: an error is one line on stderr, <c>brun COMMAND: what is wrong</c>, exit 2 for
/// a command line that cannot be used and 1 for an operation that failed (see <see cref="CliExit"/>). No stack trace
/// ever reaches the user.
/// </summary>
internal static class BrunCommandLine
{
    /// <param name="input">
    /// Where commands read secrets piped to them (<c>--password-stdin</c>). Default: the console, which may also ask a
    /// person at a terminal for a password (<see cref="TerminalSecret"/>).
    /// </param>
    public static RootCommand Build(TextReader? input = null)
    {
        var root = new RootCommand("BRun.Diagnostics: capture, validate and diagnose Claude batch generations.");
        root.Subcommands.Add(MigrateCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(UserCommand.Create(input ?? Console.In, input is null && TerminalSecret.Available ? TerminalSecret.Read : null));
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(TemplateCommand.Create());
        root.Subcommands.Add(ScaffoldingCommand.Create("persona", ScaffoldingKind.Persona));
        root.Subcommands.Add(ScaffoldingCommand.Create("arc", ScaffoldingKind.EmotionalArc));
        root.Subcommands.Add(ScaffoldingCommand.Create("topic", ScaffoldingKind.TrainingTopic));
        root.Subcommands.Add(ImportCommand.Create());
        root.Subcommands.Add(ScanCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ExportReportsCommand.Create());
        root.Subcommands.Add(RetentionCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; the process entry point and the tests both come through here.</summary>
    public static async Task<int> InvokeAsync(
        string[] args, TextWriter? output = null, TextWriter? error = null, TextReader? input = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        error ??= Console.Error;
        var parse = Build(input).Parse(args);
        var command = CommandPath(parse.CommandResult);
        if (parse.Errors.Count > 0)
        {
            // "Unrecognized command or argument 'x'" says more than the "Required command was not provided" that comes with it.
            var first = parse.Errors.OrderBy(e => e.Message.StartsWith("Required command", StringComparison.Ordinal) ? 1 : 0).First();
            await error.WriteLineAsync($"{command}: {OneLine(first.Message)} See '{command} --help'.").ConfigureAwait(false);
            return CliExit.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            // The worker's host handles SIGTERM itself and needs its drain deadline, so signal handling is left to it.
            ProcessTerminationTimeout = null,
            // Exceptions come back here and are reported as one line, never as the default handler's stack trace.
            EnableDefaultExceptionHandler = false,
            Error = error,
        };
        if (output is not null)
        {
            configuration.Output = output;
        }

        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await error.WriteLineAsync($"{command}: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"{command}: cancelled.").ConfigureAwait(false);
            return CliExit.Failure;
        }
        catch (NpgsqlException ex)
        {
            await error.WriteLineAsync($"{command}: database error: {OneLine(ex.Message)} (check ConnectionStrings__Postgres or --connection, and run 'brun migrate').").ConfigureAwait(false);
            return CliExit.Failure;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The top of the program: anything a command did not turn into a CliException is still one line, exit 1.
            await error.WriteLineAsync($"{command}: {ex.GetType().Name}: {OneLine(ex.Message)}").ConfigureAwait(false);
            return CliExit.Failure;
        }
    }

    /// <summary>"brun run create" for the command the parse stopped at.</summary>
    private static string CommandPath(CommandResult? result)
    {
        var names = new List<string>();
        for (var current = result; current is not null; current = current.Parent as CommandResult)
        {
            names.Add(current.Command is RootCommand ? "brun" : current.Command.Name);
        }

        names.Reverse();
        return names.Count == 0 ? "brun" : string.Join(' ', names);
    }

    /// <summary>The first line of a message, so an error is always one line.</summary>
    internal static string OneLine(string message)
    {
        var trimmed = message.Trim();
        var end = trimmed.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? trimmed : trimmed[..end].TrimEnd();
    }
}
