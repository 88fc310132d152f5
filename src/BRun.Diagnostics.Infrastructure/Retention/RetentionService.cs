using System.Collections.Concurrent;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Retention;

/// <summary>
/// Deletes failed generations older than a cutoff with their RAW reports: per batch, the rows are locked, their blobs
/// deleted, then the rows, and the batch commits with its counts in <c>retention_runs</c>. Killed at any point, a run
/// leaves only whole batches deleted plus, at most, rows of one batch whose blobs are already gone; the next run
/// deletes those too (a missing blob is counted, not an error), so nothing is orphaned in either store.
/// Runs as the system identity (role <c>brun_system</c>, whose policies see every row; RLS stays on).
/// Conversations are never read or written here.
/// </summary>
public sealed class RetentionService(
    IUserScopedConnectionFactory connections,
    IFailureReportBlobStore blobs,
    IOptions<RetentionOptions> options,
    IOptions<ReportUploadOptions> uploadOptions,
    TimeProvider time,
    ILogger<RetentionService> logger)
{
    // Quarantined conversations (source 'scan') are production data awaiting a person's decision, and once released
    // they are the record of who released it and why (conversations.released_from points at them): never due.
    // A report the upload retrier may still take (or holds under its lease) waits for a later run, so an upload can
    // never land after its blob was deleted. The retrier's own claim skips the rows this run has locked.
    private const string DueFilter = """
        created_at < @cutoff
        AND source <> 'scan'
        AND NOT (report_status IN ('pending', 'failed') AND report_attempts < @maxAttempts AND report_next_attempt_at > @now)
        """;

    private const string FinishedTaskCallFilter = """
        c.raw_body_pruned_at IS NULL AND c.created_at < @cutoff
        AND EXISTS (SELECT 1 FROM generation_tasks t WHERE t.id = c.task_id AND t.state IN ('succeeded', 'failed', 'cancelled'))
        """;

    /// <summary>
    /// Runs retention once and returns its log row. Cancellation stops it between (or inside) batches; what was
    /// committed stays deleted and the row says <c>cancelled</c>.
    /// </summary>
    /// <exception cref="RetentionFailedException">Storage or the database failed; the row says <c>failed</c> and how far it got.</exception>
    public async Task<RetentionRun> RunAsync(RetentionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.OlderThanDays, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.TriggeredBy);

        var now = time.GetUtcNow();
        var cutoff = now - TimeSpan.FromDays(request.OlderThanDays);
        var runId = Guid.CreateVersion7(now);
        await using (var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO retention_runs (id, triggered_by, started_at, dry_run, older_than_days, cutoff)
                VALUES (@runId, @triggeredBy, @now, @dryRun, @days, @cutoff)
                """,
                new { runId, triggeredBy = request.TriggeredBy, now = now.UtcDateTime, dryRun = request.DryRun, days = request.OlderThanDays, cutoff = cutoff.UtcDateTime },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        logger.RunStarted(runId, request.TriggeredBy, cutoff, request.OlderThanDays, request.DryRun);
        var parameters = new { cutoff = cutoff.UtcDateTime, now = now.UtcDateTime, maxAttempts = uploadOptions.Value.MaxAttempts, runId };
        try
        {
            if (request.DryRun)
            {
                await CountDueAsync(parameters, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                while (await DeleteBatchAsync(runId, parameters, cancellationToken).ConfigureAwait(false))
                {
                }

                if (options.Value.PruneCallBodies)
                {
                    await PruneCallBodiesAsync(runId, parameters, cancellationToken).ConfigureAwait(false);
                }
            }

            var finished = await FinishAsync(RetentionStatus.Completed, null, parameters, CancellationToken.None).ConfigureAwait(false);
            logger.RunFinished(finished.Id, finished.Status, finished.FailuresDeleted, finished.BlobsDeleted, finished.BlobsMissing,
                finished.CallsPruned, finished.KeptQuarantined, finished.KeptRetrying, finished.DryRun);
            return finished;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var cancelled = await FinishAsync(RetentionStatus.Cancelled, "cancelled", parameters, CancellationToken.None).ConfigureAwait(false);
            logger.RunCancelled(runId, cancelled.FailuresDeleted);
            throw;
        }
        catch (Exception ex) when (ex is ReportStorageException or NpgsqlException or TimeoutException)
        {
            var failed = await FinishAsync(RetentionStatus.Failed, $"{ex.GetType().Name}: {ex.Message}", parameters, CancellationToken.None).ConfigureAwait(false);
            logger.RunFailed(ex, runId, failed.FailuresDeleted);
            throw new RetentionFailedException(failed, ex);
        }
    }

    /// <summary>The latest runs, newest first. The system identity sees all; an admin sees all through RLS, a member none.</summary>
    public async Task<IReadOnlyList<RetentionRun>> ListAsync(DbIdentity identity, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return await ReadRunsAsync(connection, 0, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One page of runs, newest first, and how many there are, read in one snapshot so the total and the page agree.
    /// Row-level security decides what <paramref name="identity"/> sees: everything for an admin, nothing for a member.
    /// </summary>
    public async Task<Page<RetentionRun>> PageAsync(DbIdentity identity, PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(page);
        page.Validate();
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM retention_runs", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var items = await ReadRunsAsync(connection, page.Offset, page.PageSize, cancellationToken, transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new Page<RetentionRun>(items, total, page.PageIndex, page.PageSize);
    }

    private static async Task<IReadOnlyList<RetentionRun>> ReadRunsAsync(
        NpgsqlConnection connection, long offset, int limit, CancellationToken cancellationToken, NpgsqlTransaction? transaction = null) =>
        (await connection.QueryAsync<RetentionRun>(new CommandDefinition(
            $"SELECT {RetentionRun.Columns} FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset",
            new { limit, offset },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();

    /// <summary>Deletes one batch; false when nothing was due (or everything due is locked by another run).</summary>
    private async Task<bool> DeleteBatchAsync(Guid runId, object parameters, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // SKIP LOCKED: two retention runs (two web instances, or the CLI beside the service) split the rows instead of
        // waiting on each other, and the upload retrier's claim skips the rows held here.
        var due = (await connection.QueryAsync<DueRow>(new CommandDefinition(
            $"""
            SELECT id, created_at AS createdat, raw_file_path AS rawfilepath FROM failed_generations
            WHERE {DueFilter}
            ORDER BY created_at, id
            LIMIT @batchSize
            FOR UPDATE SKIP LOCKED
            """,
            With(parameters, new { batchSize = settings.BatchSize }), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (due.Count == 0)
        {
            return false;
        }

        // Checkpoint: the blobs go first. A crash from here until the commit leaves these rows in place with their
        // blobs (partly) gone; the next run finds them due again and counts each missing blob instead of failing.
        var existed = new ConcurrentDictionary<Guid, bool>();
        await Parallel.ForEachAsync(
            due,
            new ParallelOptions { MaxDegreeOfParallelism = settings.BlobParallelism, CancellationToken = cancellationToken },
            async (row, ct) => existed[row.Id] = await blobs.DeleteAsync(row.BlobPath, ct).ConfigureAwait(false)).ConfigureAwait(false);

        var ids = due.Select(r => r.Id).ToArray();
        var blobsDeleted = existed.Count(e => e.Value);
        var blobsMissing = ids.Length - blobsDeleted;

        // The rollup trigger (0070) moves failed_generation_counts in this same transaction.
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM failed_generations WHERE id = ANY(@ids)",
            new { ids }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var batch = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            UPDATE retention_runs
            SET failures_deleted = failures_deleted + @rows, blobs_deleted = blobs_deleted + @blobsDeleted,
                blobs_missing = blobs_missing + @blobsMissing, batches = batches + 1
            WHERE id = @runId
            RETURNING batches
            """,
            new { runId, rows = ids.Length, blobsDeleted, blobsMissing }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

        // Checkpoint: rows, blobs and counts of this batch are final together.
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        if (logger.IsEnabled(LogLevel.Debug))
        {
            foreach (var row in due)
            {
                logger.FailureDeleted(runId, row.Id, row.CreatedAt, row.BlobPath, existed.GetValueOrDefault(row.Id));
            }
        }

        logger.BatchDeleted(runId, batch, ids.Length, blobsDeleted, blobsMissing);
        return true;
    }

    /// <summary>Empties the raw bodies of finished tasks' calls older than the cutoff, a batch per statement.</summary>
    private async Task PruneCallBodiesAsync(Guid runId, object parameters, CancellationToken cancellationToken)
    {
        var batchSize = options.Value.BatchSize;
        long total = 0;
        while (true)
        {
            await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
            // One statement per batch: the counter moves in the same transaction as the bodies.
            var pruned = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                $"""
                WITH due AS (
                    SELECT c.id FROM generation_calls c
                    WHERE {FinishedTaskCallFilter}
                    ORDER BY c.created_at
                    LIMIT @batchSize
                    FOR UPDATE OF c SKIP LOCKED),
                pruned AS (
                    UPDATE generation_calls c SET raw_body = '', raw_body_nuls = NULL, raw_body_pruned_at = @now
                    FROM due WHERE c.id = due.id
                    RETURNING 1),
                counted AS (
                    UPDATE retention_runs SET calls_pruned = calls_pruned + (SELECT count(*) FROM pruned)
                    WHERE id = @runId)
                SELECT count(*) FROM pruned
                """,
                With(parameters, new { batchSize }), cancellationToken: cancellationToken)).ConfigureAwait(false);
            total += pruned;
            if (pruned < batchSize)
            {
                break;
            }
        }

        if (total > 0)
        {
            logger.CallsPruned(runId, total);
        }
    }

    /// <summary>A dry run: counts what would go, into the run's row; deletes nothing.</summary>
    private async Task CountDueAsync(object parameters, CancellationToken cancellationToken)
    {
        var prune = options.Value.PruneCallBodies;
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE retention_runs SET
                failures_deleted = (SELECT count(*) FROM failed_generations WHERE {DueFilter}),
                blobs_deleted = (SELECT count(*) FROM failed_generations WHERE {DueFilter} AND raw_file_path IS NOT NULL),
                calls_pruned = CASE WHEN @prune THEN (SELECT count(*) FROM generation_calls c WHERE {FinishedTaskCallFilter}) ELSE 0 END
            WHERE id = @runId
            """,
            With(parameters, new { prune }),
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Records the outcome and what was left on purpose (quarantined, still uploading), and returns the row.</summary>
    private async Task<RetentionRun> FinishAsync(string status, string? error, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleAsync<RetentionRun>(new CommandDefinition(
            $"""
            UPDATE retention_runs SET
                status = @status, last_error = left(@error, 2000), finished_at = @finishedAt,
                kept_quarantined = (SELECT count(*) FROM failed_generations WHERE created_at < @cutoff AND source = 'scan'),
                kept_retrying = (SELECT count(*) FROM failed_generations
                                 WHERE created_at < @cutoff AND source <> 'scan' AND report_status IN ('pending', 'failed')
                                   AND report_attempts < @maxAttempts AND report_next_attempt_at > @now)
            WHERE id = @runId
            RETURNING {RetentionRun.Columns}
            """,
            With(parameters, new { status, error, finishedAt = time.GetUtcNow().UtcDateTime }),
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static DynamicParameters With(object parameters, object more)
    {
        var merged = new DynamicParameters(parameters);
        merged.AddDynamicParams(more);
        return merged;
    }

    private sealed record DueRow(Guid Id, DateTime CreatedAt, string? RawFilePath)
    {
        // A row without a recorded path may still have a blob (uploaded, then the process died before recording it):
        // the path is deterministic, so that one is deleted too.
        public string BlobPath => RawFilePath ?? FailureReportPath.For(Id, new DateTimeOffset(DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc)));
    }
}
