using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>Uploads one report and records the outcome on its row. Shared by the store and the retrier.</summary>
internal sealed class ReportUploader(
    IUserScopedConnectionFactory connections,
    IFailureReportBlobStore blobs,
    IOptions<ReportUploadOptions> options,
    TimeProvider time,
    ILogger<ReportUploader> logger)
{
    // identity updates the row (the owner inline, the system in the retrier); attemptsBefore is the row's count so far.
    public async Task<(string Status, string? Path)> UploadAsync(
        DbIdentity identity,
        FailedGenerationInput input,
        Guid id,
        DateTimeOffset createdAt,
        int attemptsBefore,
        CancellationToken cancellationToken)
    {
        var path = FailureReportPath.For(id, createdAt);
        var content = ErrorReportBuilder.BuildBytes(input, id, createdAt);
        var attempt = attemptsBefore + 1;
        ReportStorageException failure;
        try
        {
            await blobs.UploadAsync(path, content, cancellationToken).ConfigureAwait(false);
            await MarkUploadedAsync(identity, id, path, cancellationToken).ConfigureAwait(false);
            logger.ReportUploaded(id, path, attempt);
            return (ReportStatus.Uploaded, path);
        }
        catch (ReportStorageException ex)
        {
            failure = ex;
        }

        var settings = options.Value;
        var next = time.GetUtcNow().UtcDateTime + settings.BackoffAfter(attempt);
        await MarkFailedAsync(identity, id, failure.Message, next, cancellationToken).ConfigureAwait(false);
        if (attempt >= settings.MaxAttempts)
        {
            logger.ReportUploadGaveUp(failure, id, attempt);
        }
        else
        {
            logger.ReportUploadFailed(failure, id, attempt, next);
        }

        return (ReportStatus.Failed, null);
    }

    private async Task MarkUploadedAsync(DbIdentity identity, Guid id, string path, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE failed_generations
            SET report_status = 'uploaded', raw_file_path = @path, report_uploaded_at = @now,
                report_attempts = report_attempts + 1, report_last_error = NULL, report_next_attempt_at = NULL
            WHERE id = @id
            """,
            new { id, path, now = time.GetUtcNow().UtcDateTime },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private async Task MarkFailedAsync(DbIdentity identity, Guid id, string error, DateTime next, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE failed_generations
            SET report_status = 'failed', report_attempts = report_attempts + 1,
                report_last_error = @error, report_next_attempt_at = @next
            WHERE id = @id
            """,
            new { id, error, next },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
