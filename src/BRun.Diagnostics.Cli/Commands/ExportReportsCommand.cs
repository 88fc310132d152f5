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
        var filters = new FailureFilterOptions();
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
            user, output,
        };
        filters.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var filter = filters.Read(parse);

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

                throw new CliException($"export failed: {ex.Message}", ex);
            }
        });
        return command;
    }
}
