using System.CommandLine;
using BRun.Diagnostics.Cli.Commands;

namespace BRun.Diagnostics.Cli;

/// <summary>Builds the <c>brun</c> command tree. Each sub-command lives in its own file under Commands/.</summary>
internal static class BrunCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("BRun.Diagnostics: capture, validate and diagnose Claude batch generations.");
        root.Subcommands.Add(ValidateCommand.Create());
        return root;
    }

    public static Task<int> InvokeAsync(string[] args) => Build().Parse(args).InvokeAsync();
}
