using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun worker</c>: runs BatchGenerationWorker alone until SIGTERM/Ctrl+C, then drains gracefully.</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var command = new Command("worker", "Run the batch generation worker until stopped (SIGTERM drains in-flight tasks).");
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildWorker();
            if (host.Services.GetRequiredService<ClaudeReadiness>().Problem is { } problem)
            {
                // No key and no demo mode: say why in one line and stop, rather than run a worker that cannot work.
                await parse.InvocationConfiguration.Error.WriteLineAsync(problem.Replace("; the worker is not running.", ".", StringComparison.Ordinal)).ConfigureAwait(false);
                return 1;
            }

            await host.RunAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
