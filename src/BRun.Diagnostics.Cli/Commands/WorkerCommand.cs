using System.CommandLine;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun worker</c>: runs BatchGenerationWorker alone until SIGTERM/Ctrl+C, then drains gracefully.</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var command = new Command("worker", "Run the batch generation worker until stopped (SIGTERM drains in-flight tasks).");
        command.SetAction(async (_, ct) =>
        {
            using var host = CliHost.BuildWorker();
            await host.RunAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
