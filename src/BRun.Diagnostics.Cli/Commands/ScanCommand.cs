using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using BRun.Diagnostics.Infrastructure.Datasets;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun scan [--dataset NAME | --run ID | --all] [--dry-run] [--resume SCAN_ID] [--user EMAIL]</c> and
/// <c>brun scan release FAILURE_ID --reason TEXT [--user EMAIL]</c>. A scan of a scope that has an unfinished scan
/// (killed, or stopped with Ctrl-C) resumes it from its checkpoint. Progress goes to stderr, the summary to stdout.
/// </summary>
internal static class ScanCommand
{
    public static Command Create()
    {
        var dataset = new Option<string?>("--dataset") { Description = "Scan one dataset (by name)." };
        var run = CliValues.IdOption("--run", "run id", "Scan the conversations of one run.");
        var all = new Option<bool>("--all") { Description = "Scan every conversation the user may see." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Record what would be quarantined; move nothing." };
        var resume = CliValues.IdOption("--resume", "scan id", "Resume this scan id.");
        var user = new Option<string>("--user") { Description = "Email of the user the scan acts for (row-level security).", DefaultValueFactory = _ => RunCommand.DefaultUserEmail };
        var command = new Command("scan", "Re-validate stored conversations and quarantine the bad ones.") { dataset, run, all, dryRun, resume, user };
        command.Subcommands.Add(ReleaseSubcommand());
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var chosen = (parse.GetValue(dataset) is null ? 0 : 1) + (parse.GetValue(run) is null ? 0 : 1) + (parse.GetValue(all) ? 1 : 0);
            if (parse.GetValue(resume) is null && chosen != 1)
            {
                await error.WriteLineAsync("brun scan: give exactly one of --dataset NAME, --run ID or --all (or --resume SCAN_ID).").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            using var host = CliHost.BuildForData();
            var owner = await CliUsers.FindAsync(host, parse.GetValue(user)!, error, "scan", ct).ConfigureAwait(false);
            if (owner is null)
            {
                return RunCommand.ExitUsage;
            }

            var scanner = host.Services.GetRequiredService<QuarantineScanner>();
            Guid scanId;
            if (parse.GetValue(resume) is { } resumeId)
            {
                scanId = resumeId;
            }
            else
            {
                ScanScope scope;
                if (parse.GetValue(dataset) is { } name)
                {
                    var id = await host.Services.GetRequiredService<DatasetImporter>().FindDatasetAsync(owner.Id, name, ct).ConfigureAwait(false);
                    if (id is null)
                    {
                        await error.WriteLineAsync($"brun scan: no dataset named {name} (--dataset) for {owner.Email}.").ConfigureAwait(false);
                        return RunCommand.ExitUsage;
                    }

                    scope = ScanScope.Dataset(id.Value);
                }
                else
                {
                    scope = parse.GetValue(run) is { } runId ? ScanScope.Run(runId) : ScanScope.All;
                }

                var unfinished = await scanner.FindUnfinishedAsync(owner.Id, scope, parse.GetValue(dryRun), ct).ConfigureAwait(false);
                if (unfinished is { } found)
                {
                    await error.WriteLineAsync($"Resuming unfinished scan {found} from its checkpoint.").ConfigureAwait(false);
                }

                scanId = unfinished ?? await scanner.StartAsync(owner.Id, scope, parse.GetValue(dryRun), ct).ConfigureAwait(false);
            }

            var bar = new ProgressBar(error);
            try
            {
                var result = await scanner.RunAsync(owner.Id, scanId, bar, ct).ConfigureAwait(false);
                bar.Finish();
                await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"scan {scanId}{(result.DryRun ? " (dry run)" : string.Empty)}: {result.Scanned} scanned, {result.Flagged} failed validation, {result.Quarantined} quarantined, {result.KeptReleased} kept (released by a person){(result.DryRun ? $", {result.Flagged - result.KeptReleased} would be quarantined" : string.Empty)}")).ConfigureAwait(false);
                return RunCommand.ExitOk;
            }
            catch (OperationCanceledException)
            {
                bar.Finish();
                await error.WriteLineAsync($"brun scan: interrupted; the last committed batch is kept. Resume with: brun scan --resume {scanId}").ConfigureAwait(false);
                return 1;
            }
            catch (Exception ex) when (ex is ScanBusyException or InvalidOperationException or Npgsql.NpgsqlException)
            {
                bar.Finish();
                await error.WriteLineAsync($"brun scan: {ex.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static Command ReleaseSubcommand()
    {
        var failureId = new Argument<Guid>("FAILURE_ID") { Description = "The quarantined failed generation's id." };
        var reason = new Option<string>("--reason") { Description = "Why the conversation is fine (recorded).", Required = true };
        var user = new Option<string>("--user") { Description = "Email of the person releasing it (recorded).", DefaultValueFactory = _ => RunCommand.DefaultUserEmail };
        var command = new Command("release", "Put a quarantined conversation back into production, recording who and why.") { failureId, reason, user };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (string.IsNullOrWhiteSpace(parse.GetValue(reason)))
            {
                await error.WriteLineAsync("brun scan release: --reason must say why.").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            using var host = CliHost.BuildForData();
            var owner = await CliUsers.FindAsync(host, parse.GetValue(user)!, error, "scan release", ct).ConfigureAwait(false);
            if (owner is null)
            {
                return RunCommand.ExitUsage;
            }

            var conversation = await host.Services.GetRequiredService<QuarantineScanner>().ReleaseAsync(owner.Id, parse.GetValue(failureId), parse.GetValue(reason)!, ct).ConfigureAwait(false);
            if (conversation is null)
            {
                await error.WriteLineAsync($"brun scan release: no quarantined, unreleased failed generation {parse.GetValue(failureId)} visible to {owner.Email}.").ConfigureAwait(false);
                return 1;
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(conversation.Value.ToString("D")).ConfigureAwait(false);
            return RunCommand.ExitOk;
        });
        return command;
    }

    /// <summary>A one-line terminal progress bar with rate and ETA, redrawn in place with a carriage return.</summary>
    private sealed class ProgressBar(TextWriter error) : IProgress<ScanProgress>
    {
        private const int Width = 30;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _startScanned = -1;
        private bool _drawn;

        public void Report(ScanProgress value)
        {
            if (_startScanned < 0)
            {
                _startScanned = value.Scanned;
                _clock.Restart();
            }

            var fraction = value.Total == 0 ? 1 : Math.Min(1, (double)value.Scanned / value.Total);
            var filled = (int)(fraction * Width);
            var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
            var rate = (value.Scanned - _startScanned) / seconds;
            var eta = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, value.Total - value.Scanned) / rate) : (TimeSpan?)null;
            error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,5:0.0}% {value.Scanned:N0}/{value.Total:N0} {rate:N0}/s ETA {(eta is { } e ? e.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "--:--:--")} flagged {value.Flagged:N0} quarantined {value.Quarantined:N0}"));
            _drawn = true;
        }

        public void Finish()
        {
            if (_drawn)
            {
                error.WriteLine();
            }
        }
    }
}
