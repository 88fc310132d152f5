using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>What one retry pass did.</summary>
public sealed record ReportRetryResult(int Claimed, int Uploaded, int Failed);

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

        List<FailedGeneration> claimed;
        await using (var connection = await _connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false))
        {
            // The claim is atomic: SKIP LOCKED keeps two retriers off the same rows, and pushing
            // report_next_attempt_at out by the lease hides them until this pass records an outcome.
            // If this process dies mid-pass the lease expires and another pass takes them (at-least-once;
            // a repeated upload writes the same bytes to the same path).
            claimed = (await connection.QueryAsync<FailedGeneration>(new CommandDefinition(
                $"""
                UPDATE failed_generations AS f
                SET report_next_attempt_at = @leaseUntil
                FROM (
                    SELECT id FROM failed_generations
                    WHERE report_status <> 'uploaded'
                      AND report_attempts < @maxAttempts
                      AND report_next_attempt_at <= @now
                    ORDER BY report_next_attempt_at
                    LIMIT @limit
                    FOR UPDATE SKIP LOCKED
                ) AS due
                WHERE f.id = due.id
                RETURNING {Qualified(FailedGeneration.Columns)}
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
        foreach (var row in claimed)
        {
            var (status, _) = await _uploader.UploadAsync(
                DbIdentity.System, row.ToInput(), row.Id, row.CreatedAtOffset, row.ReportAttempts, cancellationToken).ConfigureAwait(false);
            if (status == ReportStatus.Uploaded)
            {
                uploaded++;
            }
        }

        var result = new ReportRetryResult(claimed.Count, uploaded, claimed.Count - uploaded);
        if (claimed.Count > 0)
        {
            _logger.ReportRetryPass(result.Claimed, result.Uploaded, result.Failed);
        }

        return result;
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
            catch (NpgsqlException ex)
            {
                // The database being briefly unreachable must not stop the host; the next tick retries.
                // Other exceptions are bugs and stop the service loudly.
                _logger.ReportRetryPassFailed(ex);
            }
        }
    }

    // RETURNING after UPDATE ... FROM needs the target's columns qualified where names could clash (id).
    private static string Qualified(string columns) => columns.Replace("id, conversation_id", "f.id, f.conversation_id", StringComparison.Ordinal);
}
