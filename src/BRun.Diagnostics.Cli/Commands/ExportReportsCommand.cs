using System.CommandLine;
using System.Globalization;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun export-reports [filters] OUT.zip</c>: every RAW error report matching the filters in one ZIP with an
/// index.csv, the same archive as <c>GET /api/failed-generations/export?format=zip</c>. The filters are the failure
/// list's. The CLI holds the database credentials, so it reads as the operator (every report) unless <c>--user</c>
/// names the account whose view (row-level security) the archive should have.
/// </summary>
internal static class ExportReportsCommand
{
    public static Command Create()
    {
        var failureType = new Option<string?>("--failure-type") { Description = "truncation, parse_error, api_error or validation_error." };
        failureType.AcceptOnlyFromAmong(FailureTypeNames.Truncation, FailureTypeNames.ParseError, FailureTypeNames.ApiError, FailureTypeNames.ValidationError);
        var stopReason = new Option<string?>("--stop-reason") { Description = $"Exact stop_reason; {FailureStatistics.NoStopReason} for failures without one." };
        var pattern = new Option<string?>("--pattern") { Description = "Truncation pattern, e.g. lone_backslash." };
        var model = new Option<string?>("--model") { Description = "Model, e.g. claude-sonnet-4-5." };
        var runId = CliValues.IdOption("--run-id", "run id", "Only this run's failures.");
        var from = new Option<string?>("--from") { Description = "From this UTC day (yyyy-MM-dd, included) or instant (ISO 8601)." };
        var to = new Option<string?>("--to") { Description = "Up to this UTC day (yyyy-MM-dd, included) or instant (ISO 8601, excluded)." };
        var query = new Option<string?>("--q") { Description = "Text in the truncation details or error message (case-insensitive)." };
        var user = new Option<string?>("--user") { Description = "Read as this account (its own reports; an admin's, all). Default: the operator, every report." };
        var output = new Argument<FileInfo>("OUT.zip") { Description = "The archive to write (replaced if it exists)." };
        // A misspelt option would otherwise be taken for the file name and the export would run.
        output.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && result.Tokens[0].Value.StartsWith('-'))
            {
                result.AddError($"'{result.Tokens[0].Value}' is not an option of export-reports (OUT.zip cannot start with '-').");
            }
        });
        var command = new Command("export-reports", "Write every RAW error report matching the filters, plus index.csv, to a ZIP archive.")
        {
            failureType, stopReason, pattern, model, runId, from, to, query, user, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var fromValue = ParseBound(parse.GetValue(from), upper: false);
            var toValue = ParseBound(parse.GetValue(to), upper: true);
            if (fromValue is { Valid: false } || toValue is { Valid: false })
            {
                await error.WriteLineAsync("--from and --to take a day (yyyy-MM-dd) or an ISO 8601 instant such as 2026-03-01T12:00:00Z.").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            var filter = new FailedGenerationFilter
            {
                FailureType = parse.GetValue(failureType) is { } type ? FailureTypeNames.Parse(type) : null,
                StopReason = parse.GetValue(stopReason),
                TruncationPattern = parse.GetValue(pattern),
                Model = parse.GetValue(model),
                RunId = parse.GetValue(runId),
                From = fromValue?.Value,
                To = toValue?.Value,
                Query = parse.GetValue(query),
            };

            using var host = CliHost.BuildForData();
            var identity = DbIdentity.System;
            if (parse.GetValue(user) is { } given)
            {
                var email = UserCommand.RequireEmail("--user", given);
                var account = await host.Services.GetRequiredService<AppUserStore>().GetByEmailAsync(email, ct).ConfigureAwait(false)
                    ?? throw CliException.Usage($"no user {email} (--user).");

                identity = DbIdentity.User(account.Id);
            }

            var file = parse.GetRequiredValue(output);
            try
            {
                FailureArchiveResult result;
                var stream = new FileStream(file.FullName, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
                await using (stream.ConfigureAwait(false))
                {
                    result = await host.Services.GetRequiredService<FailedGenerationReader>()
                        .WriteReportArchiveAsync(identity, filter, stream, ct).ConfigureAwait(false);
                }

                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Wrote {result.Reports} {(result.Reports == 1 ? "report" : "reports")} ({result.Rebuilt} rebuilt from the database row) and index.csv to {file.FullName}.")).ConfigureAwait(false);
                return RunCommand.ExitOk;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NpgsqlException or ReportStorageException or Azure.RequestFailedException)
            {
                // A half-written archive is worse than none.
                file.Refresh();
                if (file.Exists)
                {
                    file.Delete();
                }

                await error.WriteLineAsync($"Export failed: {ex.Message}").ConfigureAwait(false);
                return RunCommand.ExitNotDone;
            }
        });
        return command;
    }

    /// <summary>A day means the whole day (an upper bound then ends at the next midnight); an instant is taken as is.</summary>
    private static (bool Valid, DateTimeOffset? Value)? ParseBound(string? text, bool upper)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return (true, new DateTimeOffset((upper ? day.AddDays(1) : day).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant)
            ? (true, instant)
            : (false, null);
    }
}
