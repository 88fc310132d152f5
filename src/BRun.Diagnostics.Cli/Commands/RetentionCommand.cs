using System.CommandLine;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Retention;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun retention run [--dry-run] [--older-than DAYS]</c> and <c>brun retention list [--limit N] [--format text|json]</c>.
/// Acts as the system identity, like the web host's periodic service (docs/retention.md).
/// </summary>
internal static class RetentionCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create() => new("retention", "Delete failed generations and their RAW reports past their age (conversations are never touched).")
    {
        RunSubcommand(),
        ListSubcommand(),
    };

    private static Command RunSubcommand()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be deleted; delete nothing (the run is still logged)." };
        var olderThan = CliValues.Int("--older-than", "Delete failed generations created more than DAYS days ago. Default: Retention__OlderThanDays.", 1, RetentionOptions.MaxOlderThanDays, defaultValue: 0);
        var command = new Command("run", "Run retention once: blobs first, then rows, in batches; interrupted, run it again to delete the rest.") { dryRun, olderThan };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var days = parse.GetValue(olderThan) is > 0 and var given
                ? given
                : host.Services.GetRequiredService<IOptions<RetentionOptions>>().Value.OlderThanDays;
            if (days == 0)
            {
                throw CliException.Usage("retention is off (Retention__OlderThanDays is 0: keep everything); pass --older-than DAYS to run it once.");
            }

            var request = new RetentionRequest(days, parse.GetValue(dryRun), $"cli:{Environment.UserName}");
            RetentionRun run;
            try
            {
                run = await host.Services.GetRequiredService<RetentionService>().RunAsync(request, ct).ConfigureAwait(false);
            }
            catch (RetentionFailedException ex)
            {
                throw CliException.Failed($"stopped after {ex.Run.FailuresDeleted} deletions ({BrunCommandLine.OneLine(ex.InnerException?.Message ?? ex.Message)}); run it again to delete the rest. Run id {ex.Run.Id}.");
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(Describe(run)).ConfigureAwait(false);
            return CliExit.Ok;
        });
        return command;
    }

    private static Command ListSubcommand()
    {
        var limit = CliValues.Int("--limit", "How many runs, newest first. Default: 20.", 1, 1_000, defaultValue: 20);
        var format = CliValues.Choice("--format", "Output format.", "text", "text", "json");
        var command = new Command("list", "List retention runs (when, who, cutoff, counts, dry run), newest first.") { limit, format };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var runs = await host.Services.GetRequiredService<RetentionService>().ListAsync(DbIdentity.System, parse.GetValue(limit), ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(format) == "json")
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(runs, Json)).ConfigureAwait(false);
                return CliExit.Ok;
            }

            if (runs.Count == 0)
            {
                await output.WriteLineAsync("no retention runs yet").ConfigureAwait(false);
            }

            foreach (var run in runs)
            {
                await output.WriteLineAsync(Describe(run)).ConfigureAwait(false);
            }

            return CliExit.Ok;
        });
        return command;
    }

    private static string Describe(RetentionRun run) =>
        FormattableString.Invariant($"{run.Id:D} {run.StartedAt:yyyy-MM-dd HH:mm:ss}Z {run.TriggeredBy} {run.Status}{(run.DryRun ? " (dry run)" : string.Empty)}: ")
        + FormattableString.Invariant($"older than {run.OlderThanDays} days (before {run.Cutoff:yyyy-MM-dd HH:mm:ss}Z), ")
        + FormattableString.Invariant($"{run.FailuresDeleted} failed generations{(run.DryRun ? " would be deleted" : " deleted")}, ")
        + FormattableString.Invariant($"{run.BlobsDeleted} reports{(run.DryRun ? string.Empty : FormattableString.Invariant($" ({run.BlobsMissing} already gone)"))}, ")
        + FormattableString.Invariant($"{run.CallsPruned} call bodies pruned, kept {run.KeptQuarantined} quarantined and {run.KeptRetrying} still uploading")
        + (run.LastError is { } error ? $"; {BrunCommandLine.OneLine(error)}" : string.Empty);
}
