using System.CommandLine;
using BRun.Diagnostics.Cli.Commands;
using BRun.Diagnostics.Infrastructure.Design;

namespace BRun.Diagnostics.Cli;

/// <summary>Builds the <c>brun</c> command tree. Each sub-command lives in its own file under Commands/.</summary>
internal static class BrunCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("BRun.Diagnostics: capture, validate and diagnose Claude batch generations.");
        root.Subcommands.Add(MigrateCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(UserCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(TemplateCommand.Create());
        root.Subcommands.Add(ScaffoldingCommand.Create("persona", ScaffoldingKind.Persona));
        root.Subcommands.Add(ScaffoldingCommand.Create("arc", ScaffoldingKind.EmotionalArc));
        root.Subcommands.Add(ScaffoldingCommand.Create("topic", ScaffoldingKind.TrainingTopic));
        root.Subcommands.Add(ImportCommand.Create());
        root.Subcommands.Add(ScanCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ExportReportsCommand.Create());
        return root;
    }

    // System.CommandLine would end the process soon after SIGTERM; the worker's host handles SIGTERM itself and
    // needs its drain deadline, so signal handling is left to the host.
    public static Task<int> InvokeAsync(string[] args) =>
        Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
}
