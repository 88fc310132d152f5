using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun run pause|resume RUN_ID</c>: as an operator (system identity), like <c>brun run cancel</c>.</summary>
internal static class RunPauseCommands
{
    public static Command Pause() => Change(
        "pause", "Pause a running run: no new task starts until it is resumed or cancelled; in-flight ones finish.",
        (runs, id, ct) => runs.PauseAsync(DbIdentity.System, id, "paused from the command line", ct), "paused", "not running (paused, finished or no such run)");

    public static Command Resume() => Change(
        "resume", "Resume a paused run (it completes at once when nothing is left to do).",
        (runs, id, ct) => runs.ResumeAsync(DbIdentity.System, id, ct), "resumed", "not paused (or no such run)");

    private static Command Change(string name, string description, Func<RunStore, Guid, CancellationToken, Task<bool>> change, string done, string notDone)
    {
        var runId = new Argument<Guid>("RUN_ID") { Description = "The run id." };
        var command = new Command(name, description) { runId };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var changed = await change(host.Services.GetRequiredService<RunStore>(), parse.GetValue(runId), ct).ConfigureAwait(false);
            if (!changed)
            {
                throw CliException.Failed(notDone);
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(done).ConfigureAwait(false);
            return RunCommand.ExitOk;
        });
        return command;
    }
}
