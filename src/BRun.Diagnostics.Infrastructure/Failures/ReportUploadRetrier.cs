using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>What one retry pass did. <paramref name="Unreadable"/> rows were parked (and are counted in Failed too).</summary>
public sealed record ReportRetryResult(int Claimed, int Uploaded, int Failed, int Unreadable = 0);

/// <summary>
/// Uploads error reports that are not in blob storage yet: failed inline uploads, and rows whose process died
/// before uploading. Reports are rebuilt from the row, so a retry uploads exactly what the first attempt would have.
/// </summary>
public sealed class ReportUploadRetrier : BackgroundService
{
    private readonly IUserScopedConnectionFactory _connections;
    private readonly ReportUploader _uploader;
    private readonly IOptions<ReportUploadOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReportUploadRetrier> _logger;

    internal ReportUploadRetrier(
        IUserScopedConnectionFactory connections,
        ReportUploader uploader,
        IOptions<ReportUploadOptions> options,
        TimeProvider time,
        ILogger<ReportUploadRetrier> logger)
    {
        _connections = connections;
        _uploader = uploader;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Claims up to <paramref name="limit"/> due reports and uploads them. Runs as the system identity.</summary>
    public async Task<ReportRetryResult> RetryPendingAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var settings = _options.Value;
        var now = _time.GetUtcNow();

        List<Guid> claimed;
        await using (var connection = await _connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false))
        {
            // The claim is atomic: SKIP LOCKED keeps two retriers off the same rows, and pushing
            // report_next_attempt_at out by the lease hides them until this pass records an outcome.
            // If this process dies mid-pass the lease expires and another pass takes them (at-least-once;
            // a repeated upload writes the same bytes to the same path). Only ids are claimed: each row is read on its
            // own below, so one row that cannot be read cannot take the pass (or the host) down with it.
            claimed = (await connection.QueryAsync<Guid>(new CommandDefinition(
                """
                UPDATE failed_generations AS f
                SET report_next_attempt_at = @leaseUntil
                FROM (
                    SELECT id FROM failed_generations
                    WHERE report_status IN ('pending', 'failed')
                      AND report_attempts < @maxAttempts
                      AND report_next_attempt_at <= @now
                    ORDER BY report_next_attempt_at
                    LIMIT @limit
                    FOR UPDATE SKIP LOCKED
                ) AS due
                WHERE f.id = due.id
                RETURNING f.id
                """,
                new
                {
                    leaseUntil = (now + settings.ClaimLease).UtcDateTime,
                    maxAttempts = settings.MaxAttempts,
                    now = now.UtcDateTime,
                    limit,
                },
                cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }

        var uploaded = 0;
        var unreadable = 0;
        foreach (var id in claimed)
        {
            try
            {
                var (status, _) = await UploadOneAsync(id, cancellationToken).ConfigureAwait(false);
                if (status == ReportStatus.Uploaded)
                {
                    uploaded++;
                }
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or NpgsqlException or TimeoutException or OutOfMemoryException))
            {
                // A row this code cannot read or rebuild a report from (a bug, or data written by hand or by another
                // version) would fail the same way on every pass: park it, say so, and go on with the others.
                unreadable++;
                _logger.ReportRowUnreadable(ex, id);
                await MarkUnreadableAsync(id, ex, cancellationToken).ConfigureAwait(false);
            }
        }

        var result = new ReportRetryResult(claimed.Count, uploaded, claimed.Count - uploaded, unreadable);
        if (claimed.Count > 0)
        {
            _logger.ReportRetryPass(result.Claimed, result.Uploaded, result.Failed);
        }

        return result;
    }

    private async Task<(string Status, string? Path)> UploadOneAsync(Guid id, CancellationToken cancellationToken)
    {
        FailedGeneration row;
        await using (var connection = await _connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false))
        {
            row = await connection.QuerySingleAsync<FailedGeneration>(new CommandDefinition(
                $"SELECT {FailedGeneration.Columns} FROM failed_generations WHERE id = @id",
                new { id },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return await _uploader.UploadAsync(
            DbIdentity.System, row.ToInput(), row.Id, row.CreatedAtOffset, row.ReportAttempts, cancellationToken).ConfigureAwait(false);
    }

    private async Task MarkUnreadableAsync(Guid id, Exception error, CancellationToken cancellationToken)
    {
        var message = $"{error.GetType().Name}: {error.Message}";
        await using var connection = await _connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE failed_generations
            SET report_status = 'unreadable', report_last_error = left(@message, 2000), report_next_attempt_at = NULL
            WHERE id = @id
            """,
            new { id, message },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = _options.Value;
        if (!settings.RetrierEnabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.Interval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RetryPendingAsync(settings.BatchSize, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or ReportStorageException)
            {
                // The database or blob storage being briefly unreachable must not stop the host; the next tick retries.
                // A bad row is handled per row above; anything else is a bug and stops the service loudly.
                _logger.ReportRetryPassFailed(ex);
            }
        }
    }

}
