using System.Data.Common;
using BRun.Diagnostics.Core.Pipeline;
using Dapper;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Telemetry;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// The <c>generation_tasks</c> queue. Claims are atomic (<c>FOR UPDATE SKIP LOCKED</c> in a CTE, evaluated once),
/// held under a short lease that the worker renews, and rescued when the lease expires. Delivery is therefore
/// at-least-once; the state transitions below only count a task once, however often it is delivered.
/// Queue maintenance acts as <see cref="DbIdentity.System"/>: workers serve every user's runs.
/// </summary>
public sealed class GenerationQueue(IUserScopedConnectionFactory connections, DiagnosticsMetrics? metrics = null)
{
    /// <summary>The channel every worker listens on for new work.</summary>
    public const string TasksChannel = "brun_tasks";

    /// <summary>The channel the dashboard listens on for task, failure and run events.</summary>
    public const string EventsChannel = "brun_events";

    public async Task<IReadOnlyList<ClaimedTask>> ClaimAsync(string workerId, int limit, TimeSpan lease, CancellationToken ct)
    {
        if (limit <= 0)
        {
            return [];
        }

        // The CTE is evaluated exactly once (a sub-select in WHERE may be re-evaluated and over-claim: PG bug #15715).
        // Runs that are not 'running' (cancelled, paused) never hand out work; batch-mode tasks go to the batch
        // coordinator unless one was explicitly sent back online. Leases and not_before use the database clock,
        // so workers on machines whose clocks disagree still agree on who owns a task.
        const string Sql = """
            WITH next AS (
                SELECT t.id
                FROM generation_tasks t
                JOIN generation_runs r ON r.id = t.run_id
                WHERE t.state = 'available' AND t.not_before <= now() AND r.status = 'running'
                  AND (r.mode = 'online' OR t.force_online)
                ORDER BY t.not_before, t.created_at, t.seq
                LIMIT @limit
                FOR UPDATE OF t SKIP LOCKED
            ), claimed AS (
                UPDATE generation_tasks t
                SET state = 'running', attempts = t.attempts + 1, lease_owner = @workerId,
                    lease_expires_at = now() + @lease, updated_at = now()
                FROM next
                WHERE t.id = next.id
                RETURNING t.*
            ), started AS (
                UPDATE generation_runs r SET started_at = now()
                WHERE r.id IN (SELECT run_id FROM claimed) AND r.started_at IS NULL
            )
            SELECT c.id AS Id, c.run_id AS RunId, c.seq AS Seq, r.created_by AS CreatedBy, c.prompt AS Prompt,
                   r.model AS Model, r.max_tokens AS MaxTokens, r.temperature AS Temperature,
                   c.template_id AS TemplateId, c.persona_id AS PersonaId, c.emotional_arc_id AS EmotionalArcId,
                   c.training_topic_id AS TrainingTopicId, c.attempts AS Attempts, c.delivery_errors AS DeliveryErrors,
                   -- The template's text before its first placeholder: the same for every task, so it can be cached.
                   CASE WHEN strpos(p.body, '{{') > 0 THEN left(p.body, strpos(p.body, '{{') - 1) ELSE p.body END AS TemplatePrefix
            FROM claimed c JOIN generation_runs r ON r.id = c.run_id JOIN prompt_templates p ON p.id = c.template_id
            ORDER BY c.not_before, c.created_at, c.seq
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<ClaimedTask>(new CommandDefinition(
            Sql, new { limit, workerId, lease }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>
    /// Heartbeat: renews the lease of tasks this worker's deliveries still own (fenced by attempt number). Returns how
    /// many it still owns.
    /// </summary>
    public async Task<int> ExtendLeasesAsync(string workerId, IReadOnlyCollection<ClaimedTask> tasks, TimeSpan lease, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0)
        {
            return 0;
        }

        const string Sql = """
            UPDATE generation_tasks t SET lease_expires_at = now() + @lease, updated_at = now()
            FROM unnest(@ids, @attempts) AS d(id, attempt)
            WHERE t.id = d.id AND t.attempts = d.attempt AND t.state = 'running' AND t.lease_owner = @workerId
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { ids = tasks.Select(t => t.Id).ToArray(), attempts = tasks.Select(t => t.Attempts).ToArray(), workerId, lease },
            cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Puts deliveries this worker still owns back in the queue (graceful shutdown, or an error of ours such as a
    /// storage outage, which <paramref name="countAsError"/> counts toward <see cref="WorkerOptions.MaxDeliveryAttempts"/>).
    /// </summary>
    public async Task<int> ReleaseAsync(
        string workerId, IReadOnlyCollection<ClaimedTask> tasks, string? reason, CancellationToken ct, bool countAsError = false)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0)
        {
            return 0;
        }

        const string Sql = """
            UPDATE generation_tasks t
            SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                last_error = COALESCE(@reason, t.last_error),
                delivery_errors = t.delivery_errors + CASE WHEN @countAsError THEN 1 ELSE 0 END
            FROM unnest(@ids, @attempts) AS d(id, attempt)
            WHERE t.id = d.id AND t.attempts = d.attempt AND t.state = 'running' AND t.lease_owner = @workerId
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var released = await connection.ExecuteAsync(new CommandDefinition(
            Sql,
            new { ids = tasks.Select(t => t.Id).ToArray(), attempts = tasks.Select(t => t.Attempts).ToArray(), workerId, reason, countAsError },
            cancellationToken: ct)).ConfigureAwait(false);
        await NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        return released;
    }

    /// <summary>
    /// Sends a delivery's task back to the queue after a transient API failure, to be claimed again no earlier than
    /// <paramref name="delay"/> from now (database clock). Fenced: does nothing when the delivery no longer owns the task.
    /// </summary>
    /// <returns>False when the delivery was stale.</returns>
    public async Task<bool> RetryLaterAsync(ClaimedTask task, TimeSpan delay, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        const string Sql = """
            UPDATE generation_tasks
            SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                not_before = now() + @delay, last_error = @reason
            WHERE id = @id AND attempts = @attempt AND state = 'running'
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var requeued = await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { id = task.Id, attempt = task.Attempts, delay, reason }, cancellationToken: ct)).ConfigureAwait(false) == 1;
        if (requeued)
        {
            metrics?.TaskRequeued();
        }
        else
        {
            metrics?.TaskFencedOut();
        }

        return requeued;
    }

    /// <summary>Sends tasks whose lease expired (their worker died) back to the queue.</summary>
    public async Task<int> RescueExpiredAsync(CancellationToken ct)
    {
        const string Sql = """
            UPDATE generation_tasks
            SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                last_error = 'lease expired: the worker holding it stopped renewing'
            WHERE state = 'running' AND lease_expires_at < now()
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var rescued = await connection.ExecuteAsync(new CommandDefinition(Sql, cancellationToken: ct)).ConfigureAwait(false);
        metrics?.LeasesRescued(rescued);
        if (rescued > 0)
        {
            await NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        }

        return rescued;
    }

    /// <summary>
    /// The fence. Moves the task to a final state inside the caller's transaction and bumps the run's counter, but
    /// only if delivery <paramref name="attempt"/> still owns it (<c>attempts = @attempt AND state = 'running'</c>).
    /// The row stays locked until the caller commits, so the outcome the caller writes in the same transaction is
    /// the task's only one. <paramref name="taskCost"/> (all the task's calls) is added to the run's failed cost when
    /// the task fails. Returns the run's counters after the change, or null when the delivery is stale.
    /// </summary>
    internal async Task<RunCounters?> FinishInTransactionAsync(
        DbConnection connection, DbTransaction transaction, Guid taskId, int attempt, string finalState, string? lastError,
        decimal? taskCost, CancellationToken ct)
    {
        var (counter, failedCost) = finalState switch
        {
            TaskState.Succeeded => ("succeeded", 0m),
            TaskState.Failed => ("failed", taskCost ?? 0m),
            _ => throw new ArgumentOutOfRangeException(nameof(finalState), finalState, "Only succeeded or failed finish a task."),
        };

        // The counter column name comes from the closed switch above, never from input.
        var sql = $"""
            WITH moved AS (
                UPDATE generation_tasks
                SET state = @finalState, finished_at = now(), updated_at = now(), lease_owner = NULL,
                    lease_expires_at = NULL, last_error = @lastError
                WHERE id = @taskId AND attempts = @attempt AND state = 'running'
                RETURNING run_id
            )
            UPDATE generation_runs r SET {counter} = r.{counter} + 1, failed_cost_usd = r.failed_cost_usd + @failedCost
            FROM moved WHERE r.id = moved.run_id
            RETURNING r.id AS RunId, r.status AS Status, r.total AS Total, r.succeeded AS Succeeded,
                      r.failed AS Failed, r.cancelled AS Cancelled
            """;
        return await connection.QuerySingleOrDefaultAsync<RunCounters>(new CommandDefinition(
            sql, new { taskId, attempt, finalState, lastError, failedCost }, transaction, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Marks the run completed when no task of it is left to do. Safe to call repeatedly.</summary>
    internal async Task<bool> CompleteRunIfDoneAsync(DbConnection connection, DbTransaction? transaction, Guid runId, CancellationToken ct)
    {
        const string Sql = """
            UPDATE generation_runs r SET status = CASE WHEN r.status = 'running' THEN 'completed' ELSE r.status END,
                   finished_at = now()
            WHERE r.id = @runId AND r.finished_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state IN ('available', 'running'))
            """;
        return await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false) > 0;
    }

    internal static async Task NotifyWorkAsync(DbConnection connection, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"SELECT pg_notify('{TasksChannel}', '')", cancellationToken: ct)).ConfigureAwait(false);
}

/// <summary>A run's stored counters right after a task finished.</summary>
public sealed record RunCounters(Guid RunId, string Status, int Total, int Succeeded, int Failed, int Cancelled);
