using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Batches;

/// <summary>One row of <c>message_batches</c>. Times are UTC.</summary>
public sealed record MessageBatchRow
{
    public Guid Id { get; init; }
    public Guid RunId { get; init; }
    public int Seq { get; init; }
    public string? AnthropicBatchId { get; init; }
    public string SubmissionState { get; init; } = "pending";
    public DateTime? SubmitStartedAt { get; init; }
    public string? SubmitError { get; init; }
    public int RequestCount { get; init; }
    public long RequestBytes { get; init; }
    public string? ProcessingStatus { get; init; }
    public int CountProcessing { get; init; }
    public int CountSucceeded { get; init; }
    public int CountErrored { get; init; }
    public int CountCanceled { get; init; }
    public int CountExpired { get; init; }
    public DateTime? ApiCreatedAt { get; init; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime? EndedAt { get; init; }
    public string? ResultsUrl { get; init; }
    public bool CancelRequested { get; init; }
    public int PollCount { get; init; }
    public DateTime? LastPolledAt { get; init; }
    public DateTime NextPollAt { get; init; }
    public long ResultsLinesDone { get; init; }

    /// <summary>Results lines that could not be read (kept in <c>message_batch_unreadable_lines</c>).</summary>
    public int ResultsLinesUnreadable { get; init; }

    /// <summary>Downloads of the results that ended short of one line per request.</summary>
    public int ResultsShortReads { get; init; }
    public string IngestState { get; init; } = "waiting";
    public string RunStatus { get; init; } = "running";
    public Guid CreatedBy { get; init; }
}

/// <summary>A run's cost in USD: what it cost, and for batch mode what the same results would have cost online.</summary>
public sealed record RunCost(string Mode, decimal CostUsd, decimal OnlineEquivalentUsd);

/// <summary>A results line that could not be read: its number in the file, why, and the line as it came.</summary>
public sealed record UnreadableResultsLine(long Line, string Reason, string Text, DateTime CreatedAt);

/// <summary>What a batch request's params are built from.</summary>
public sealed record BatchTaskParams(string Prompt, string Model, int MaxTokens, decimal? Temperature);

/// <summary>A batch whose intent is recorded (tasks are in it), ready to be POSTed.</summary>
public sealed record BatchSubmission(Guid BatchRowId, Guid RunId, int Seq, BatchRequestBody Body);

/// <summary>
/// The <c>message_batches</c> table and the task side of submitting. Workers act as <see cref="DbIdentity.System"/>;
/// leases, poll times and timestamps use the database clock, so workers on different machines agree.
/// </summary>
public sealed class MessageBatchStore(IUserScopedConnectionFactory connections, GenerationQueue queue)
{
    /// <summary>The live event sent when one of a run's batches changes.</summary>
    public const string BatchStatusEvent = "batch_status";

    internal const string Columns = """
        b.id AS Id, b.run_id AS RunId, b.seq AS Seq, b.anthropic_batch_id AS AnthropicBatchId,
        b.submission_state AS SubmissionState, b.submit_started_at AS SubmitStartedAt, b.submit_error AS SubmitError,
        b.request_count AS RequestCount, b.request_bytes AS RequestBytes, b.processing_status AS ProcessingStatus,
        b.count_processing AS CountProcessing, b.count_succeeded AS CountSucceeded, b.count_errored AS CountErrored,
        b.count_canceled AS CountCanceled, b.count_expired AS CountExpired, b.api_created_at AS ApiCreatedAt,
        b.expires_at AS ExpiresAt, b.ended_at AS EndedAt, b.results_url AS ResultsUrl, b.cancel_requested AS CancelRequested,
        b.poll_count AS PollCount, b.last_polled_at AS LastPolledAt, b.next_poll_at AS NextPollAt,
        b.results_lines_done AS ResultsLinesDone, b.results_lines_unreadable AS ResultsLinesUnreadable,
        b.results_short_reads AS ResultsShortReads, b.ingest_state AS IngestState, r.status AS RunStatus, r.created_by AS CreatedBy
        """;

    /// <summary>Batch-mode runs that have tasks waiting to be put in a batch.</summary>
    public async Task<IReadOnlyList<Guid>> RunsWithWaitingTasksAsync(CancellationToken ct)
    {
        const string Sql = """
            SELECT r.id FROM generation_runs r
            WHERE r.mode = 'batch' AND r.status = 'running'
              AND EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'available' AND t.not_before <= now() AND NOT t.force_online)
            ORDER BY r.created_at
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<Guid>(new CommandDefinition(Sql, cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    private sealed record WaitingTask(Guid Id, int Attempts, string Prompt, string Model, int MaxTokens, decimal? Temperature)
    {
        public BatchTaskParams Params => new(Prompt, Model, MaxTokens, Temperature);
    }

    /// <summary>
    /// Records the submission intent: a <c>message_batches</c> row in state pending, and the run's waiting tasks moved
    /// into it (running, next attempt, custom_id), up to the count and byte limits, in one transaction. Nothing is
    /// POSTed yet; after this commits, a crash is reconciled (see <see cref="PendingToReconcileAsync"/>), never re-sent.
    /// Returns null when another worker is submitting for this run or nothing is waiting.
    /// </summary>
    public async Task<BatchSubmission?> RecordIntentAsync(
        Guid runId, int maxRequests, long maxBytes, Func<BatchTaskParams, byte[]> paramsFor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(paramsFor);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        // One submitter per run at a time, so two workers never split one run's tasks into interleaved batches.
        var locked = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT pg_try_advisory_xact_lock(hashtext('brun-batch-submit'), hashtext(@run))",
            new { run = runId.ToString() }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (!locked)
        {
            return null;
        }

        var waiting = (await connection.QueryAsync<WaitingTask>(new CommandDefinition("""
            SELECT t.id AS Id, t.attempts AS Attempts, t.prompt AS Prompt, r.model AS Model, r.max_tokens AS MaxTokens,
                   r.temperature AS Temperature
            FROM generation_tasks t JOIN generation_runs r ON r.id = t.run_id
            WHERE t.run_id = @runId AND t.state = 'available' AND t.not_before <= now() AND NOT t.force_online AND r.status = 'running' AND r.mode = 'batch'
            ORDER BY t.seq
            LIMIT @maxRequests
            FOR UPDATE OF t SKIP LOCKED
            """, new { runId, maxRequests }, transaction, cancellationToken: ct)).ConfigureAwait(false)).AsList();
        if (waiting.Count == 0)
        {
            return null;
        }

        var body = new BatchRequestBody();
        var ids = new List<Guid>(waiting.Count);
        var customIds = new List<string>(waiting.Count);
        foreach (var task in waiting)
        {
            var customId = BatchResultLine.CustomIdFor(task.Id, task.Attempts + 1);
            var item = BatchRequestBody.Item(customId, paramsFor(task.Params));
            if (body.Count > 0 && body.Length + BatchRequestBody.SizeOf(item) > maxBytes)
            {
                // The rest waits for the next batch of this run.
                break;
            }

            body.Add(item);
            ids.Add(task.Id);
            customIds.Add(customId);
        }

        var batchRowId = Guid.CreateVersion7();
        var seq = await connection.ExecuteScalarAsync<int>(new CommandDefinition("""
            INSERT INTO message_batches (id, run_id, seq, request_count, request_bytes, submit_started_at, submit_attempts)
            VALUES (@batchRowId, @runId, (SELECT COALESCE(max(seq), 0) + 1 FROM message_batches WHERE run_id = @runId), @count, @bytes, now(), 1)
            RETURNING seq
            """, new { batchRowId, runId, count = ids.Count, bytes = body.Length }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        // Checkpoint: the attempt number moves with the batch; the custom_id carries it, so a result line can only
        // finish the delivery it belongs to.
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE generation_tasks t
            SET state = 'running', attempts = t.attempts + 1, batch_id = @batchRowId, custom_id = i.custom_id,
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            FROM unnest(@ids, @customIds) AS i(id, custom_id)
            WHERE t.id = i.id
            """,
            new { batchRowId, ids = ids.ToArray(), customIds = customIds.ToArray() }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE generation_runs SET started_at = COALESCE(started_at, now()) WHERE id = @runId",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return new BatchSubmission(batchRowId, runId, seq, body);
    }

    public async Task MarkSubmittedAsync(Guid batchRowId, MessageBatchInfo info, TimeSpan firstPoll, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(info);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var runId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition("""
            UPDATE message_batches SET anthropic_batch_id = @Id, submission_state = 'submitted', submit_error = NULL,
                   next_poll_at = now() + @firstPoll, updated_at = now()
            WHERE id = @batchRowId
            RETURNING run_id
            """, new { batchRowId, info.Id, firstPoll }, cancellationToken: ct)).ConfigureAwait(false);
        await UpdateStatusAsync(connection, batchRowId, info, ct).ConfigureAwait(false);
        if (runId is { } run)
        {
            await AnnounceAsync(connection, null, run, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stores the API's view of a batch (status, counts, times) without touching the lease.</summary>
    public async Task SaveStatusAsync(Guid batchRowId, MessageBatchInfo info, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(info);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await UpdateStatusAsync(connection, batchRowId, info, ct).ConfigureAwait(false);
    }

    public async Task RecordSubmitErrorAsync(Guid batchRowId, string error, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE message_batches SET submit_error = @error, updated_at = now() WHERE id = @batchRowId AND submission_state = 'pending'",
            new { batchRowId, error }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// The POST certainly created nothing (the API refused it, or reconciliation found no such batch): the batch row is
    /// abandoned and its tasks go back to waiting (or, for a request the API will always refuse, are failed).
    /// </summary>
    public async Task AbandonAsync(Guid batchRowId, string error, bool failTasks, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var runId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition("""
            UPDATE message_batches SET submission_state = 'abandoned', submit_error = @error, ingest_state = 'done', updated_at = now()
            WHERE id = @batchRowId AND submission_state = 'pending'
            RETURNING run_id
            """, new { batchRowId, error }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (runId is null)
        {
            return;
        }

        if (failTasks)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                WITH moved AS (
                    UPDATE generation_tasks SET state = 'failed', finished_at = now(), updated_at = now(), last_error = @error,
                           batch_id = NULL
                    WHERE batch_id = @batchRowId AND state = 'running'
                    RETURNING 1
                )
                UPDATE generation_runs SET failed = failed + (SELECT count(*) FROM moved) WHERE id = @runId
                """, new { batchRowId, runId, error = "batch rejected: " + error }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        }
        else
        {
            await ReleaseLeftoversAsync(connection, transaction, batchRowId, runId.Value, ct).ConfigureAwait(false);
        }

        await AnnounceAsync(connection, transaction, runId.Value, ct).ConfigureAwait(false);
        await FinishRunIfDoneAsync(connection, transaction, runId.Value, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Submissions whose POST was not confirmed within <paramref name="after"/>: reconcile them with the API's list.</summary>
    public async Task<IReadOnlyList<MessageBatchRow>> PendingToReconcileAsync(TimeSpan after, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<MessageBatchRow>(new CommandDefinition($"""
            SELECT {Columns} FROM message_batches b JOIN generation_runs r ON r.id = b.run_id
            WHERE b.submission_state = 'pending' AND b.submit_started_at < now() - @after
            ORDER BY b.submit_started_at
            """, new { after }, cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    /// <summary>Anthropic batch ids we already know, among <paramref name="ids"/>.</summary>
    public async Task<IReadOnlySet<string>> KnownAnthropicIdsAsync(IEnumerable<string> ids, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var known = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT anthropic_batch_id FROM message_batches WHERE anthropic_batch_id = ANY(@ids)",
            new { ids = ids.ToArray() }, cancellationToken: ct)).ConfigureAwait(false);
        return known.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Leases batches due for a poll (or with results to ingest) to <paramref name="owner"/>: one poller per batch, and
    /// the shared next_poll_at means N workers do not poll N times as often.
    /// </summary>
    public async Task<IReadOnlyList<MessageBatchRow>> ClaimDueAsync(string owner, TimeSpan lease, int limit, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<MessageBatchRow>(new CommandDefinition($"""
            WITH due AS (
                SELECT id FROM message_batches
                WHERE submission_state = 'submitted' AND ingest_state <> 'done' AND next_poll_at <= now()
                  AND (poll_lease_until IS NULL OR poll_lease_until < now())
                ORDER BY next_poll_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
            ), leased AS (
                UPDATE message_batches m SET poll_owner = @owner, poll_lease_until = now() + @lease, updated_at = now()
                FROM due WHERE m.id = due.id
                RETURNING m.*
            )
            SELECT {Columns} FROM leased b JOIN generation_runs r ON r.id = b.run_id
            """, new { owner, lease, limit }, cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    /// <summary>Renews this worker's lease; false when it lost the batch to another worker.</summary>
    public async Task<bool> ExtendLeaseAsync(Guid batchRowId, string owner, TimeSpan lease, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE message_batches SET poll_lease_until = now() + @lease WHERE id = @batchRowId AND poll_owner = @owner",
            new { batchRowId, owner, lease }, cancellationToken: ct)).ConfigureAwait(false) == 1;
    }

    /// <summary>Stores a poll's answer, schedules the next poll after <paramref name="nextPoll"/>, and lets go of the lease.</summary>
    public async Task RecordPollAsync(Guid batchRowId, string owner, MessageBatchInfo info, TimeSpan nextPoll, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(info);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await UpdateStatusAsync(connection, batchRowId, info, ct).ConfigureAwait(false);
        var runId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition("""
            UPDATE message_batches SET poll_count = poll_count + 1, last_polled_at = now(), next_poll_at = now() + @nextPoll,
                   poll_owner = NULL, poll_lease_until = NULL
            WHERE id = @batchRowId AND poll_owner = @owner
            RETURNING run_id
            """, new { batchRowId, owner, nextPoll }, cancellationToken: ct)).ConfigureAwait(false);
        if (runId is { } run)
        {
            await AnnounceAsync(connection, null, run, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A poll that failed (API or network): try again after <paramref name="nextPoll"/>, lease released.</summary>
    public async Task PostponeAsync(Guid batchRowId, string owner, TimeSpan nextPoll, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE message_batches SET poll_count = poll_count + 1, next_poll_at = now() + @nextPoll, poll_owner = NULL,
                   poll_lease_until = NULL, updated_at = now()
            WHERE id = @batchRowId AND poll_owner = @owner
            """, new { batchRowId, owner, nextPoll }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Counts a download of the results that ended short of one line per request.</summary>
    public async Task RecordShortReadAsync(Guid batchRowId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE message_batches SET results_short_reads = results_short_reads + 1, updated_at = now() WHERE id = @batchRowId",
            new { batchRowId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task MarkCancelRequestedAsync(Guid batchRowId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE message_batches SET cancel_requested = true, updated_at = now() WHERE id = @batchRowId",
            new { batchRowId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends ingestion: tasks of this batch that got no result line go back to waiting (or are cancelled with their run),
    /// the batch is done, and the run is finished if nothing is left.
    /// </summary>
    public async Task FinishIngestAsync(Guid batchRowId, Guid runId, long lines, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE message_batches SET ingest_state = 'done', ingested_at = now(), results_lines_done = @lines,
                   poll_owner = NULL, poll_lease_until = NULL, updated_at = now()
            WHERE id = @batchRowId
            """, new { batchRowId, lines }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await ReleaseLeftoversAsync(connection, transaction, batchRowId, runId, ct).ConfigureAwait(false);
        await AnnounceAsync(connection, transaction, runId, ct).ConfigureAwait(false);
        await FinishRunIfDoneAsync(connection, transaction, runId, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The batches of one run, oldest first; row-level security decides whether the identity may see them.</summary>
    public async Task<IReadOnlyList<MessageBatchRow>> ListForRunAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<MessageBatchRow>(new CommandDefinition(
            $"SELECT {Columns} FROM message_batches b JOIN generation_runs r ON r.id = b.run_id WHERE b.run_id = @runId ORDER BY b.seq",
            new { runId }, cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    /// <summary>
    /// The results lines of the run's batch number <paramref name="seq"/> that could not be read, in file order, as
    /// they came (NULs put back); empty when there are none or the identity may not see the run.
    /// </summary>
    public async Task<IReadOnlyList<UnreadableResultsLine>> UnreadableLinesAsync(DbIdentity identity, Guid runId, int seq, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(long Line, string Reason, string Text, int[]? Nuls, DateTime CreatedAt)>(new CommandDefinition("""
            SELECT u.line, u.reason, u.text, u.text_nuls, u.created_at
            FROM message_batch_unreadable_lines u JOIN message_batches b ON b.id = u.batch_id
            WHERE b.run_id = @runId AND b.seq = @seq
            ORDER BY u.line
            """, new { runId, seq }, cancellationToken: ct)).ConfigureAwait(false);
        return [.. rows.Select(r => new UnreadableResultsLine(r.Line, r.Reason, PostgresText.WithNuls(r.Text, r.Nuls), DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc)))];
    }

    /// <summary>The run's cost and its online equivalent; null when the identity may not see the run.</summary>
    public async Task<RunCost?> GetRunCostAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<RunCost>(new CommandDefinition(
            "SELECT mode AS Mode, cost_usd AS CostUsd, online_equivalent_cost_usd AS OnlineEquivalentUsd FROM generation_runs WHERE id = @runId",
            new { runId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    private static Task UpdateStatusAsync(NpgsqlConnection connection, Guid batchRowId, MessageBatchInfo info, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            UPDATE message_batches SET processing_status = @ProcessingStatus, count_processing = @Processing,
                   count_succeeded = @Succeeded, count_errored = @Errored, count_canceled = @Canceled, count_expired = @Expired,
                   api_created_at = @CreatedAt, expires_at = @ExpiresAt, ended_at = @EndedAt,
                   cancel_initiated_at = @CancelInitiatedAt, results_url = @ResultsUrl, updated_at = now()
            WHERE id = @batchRowId
            """, new
        {
            batchRowId,
            info.ProcessingStatus,
            info.Processing,
            info.Succeeded,
            info.Errored,
            info.Canceled,
            info.Expired,
            CreatedAt = info.CreatedAt?.UtcDateTime,
            ExpiresAt = info.ExpiresAt?.UtcDateTime,
            EndedAt = info.EndedAt?.UtcDateTime,
            CancelInitiatedAt = info.CancelInitiatedAt?.UtcDateTime,
            info.ResultsUrl,
        }, cancellationToken: ct));

    /// <summary>Still-running tasks of a batch go back to waiting for the next batch; with a cancelled run they are cancelled.</summary>
    private static Task ReleaseLeftoversAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchRowId, Guid runId, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            WITH run AS (SELECT status FROM generation_runs WHERE id = @runId),
            moved AS (
                UPDATE generation_tasks t
                SET state = CASE WHEN (SELECT status FROM run) = 'cancelled' THEN 'cancelled' ELSE 'available' END,
                    finished_at = CASE WHEN (SELECT status FROM run) = 'cancelled' THEN now() ELSE NULL END,
                    batch_id = NULL, custom_id = NULL, updated_at = now(),
                    last_error = 'no result line in its batch; sent again'
                WHERE t.batch_id = @batchRowId AND t.state = 'running'
                RETURNING t.state
            )
            UPDATE generation_runs SET cancelled = cancelled + (SELECT count(*) FROM moved WHERE state = 'cancelled')
            WHERE id = @runId
            """, new { batchRowId, runId }, transaction, cancellationToken: ct));

    /// <summary>
    /// Tells the run page that a batch of the run changed (submitted, polled, abandoned, ingested): it re-reads the
    /// batch table through the live-event hub, as it does for task outcomes.
    /// </summary>
    private static Task AnnounceAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid runId, CancellationToken ct) =>
        RunEvents.PublishAsync(connection, transaction, new RunEvent(BatchStatusEvent, runId), ct);

    /// <summary>Completes the run through the queue's rule (nothing available or running) and announces it.</summary>
    private async Task FinishRunIfDoneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, CancellationToken ct)
    {
        if (!await queue.CompleteRunIfDoneAsync(connection, transaction, runId, ct).ConfigureAwait(false))
        {
            return;
        }

        var run = await connection.QuerySingleAsync<(string Status, int Total, int Succeeded, int Failed, int Cancelled)>(new CommandDefinition(
            "SELECT status, total, succeeded, failed, cancelled FROM generation_runs WHERE id = @runId",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction,
            new RunEvent("run_finished", runId, Status: run.Status, Total: run.Total, Succeeded: run.Succeeded, Failed: run.Failed, Cancelled: run.Cancelled), ct).ConfigureAwait(false);
    }
}
