using System.Data.Common;
using BRun.Diagnostics.Core.Pipeline;
using Dapper;
using BRun.Diagnostics.Infrastructure.Database;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// The <c>generation_tasks</c> queue. Claims are atomic (<c>FOR UPDATE SKIP LOCKED</c> in a CTE, evaluated once),
/// held under a short lease that the worker renews, and rescued when the lease expires. Delivery is therefore
/// at-least-once; the state transitions below only count a task once, however often it is delivered.
/// Queue maintenance acts as <see cref="DbIdentity.System"/>: workers serve every user's runs.
/// </summary>
public sealed class GenerationQueue(IUserScopedConnectionFactory connections, TimeProvider timeProvider)
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
        // Runs that are not 'running' (cancelled) never hand out work; batch-mode tasks go to the batch coordinator
        // unless one was explicitly sent back online.
        const string Sql = """
            WITH next AS (
                SELECT t.id
                FROM generation_tasks t
                JOIN generation_runs r ON r.id = t.run_id
                WHERE t.state = 'available' AND r.status = 'running' AND (r.mode = 'online' OR t.force_online)
                ORDER BY t.created_at, t.seq
                LIMIT @limit
                FOR UPDATE OF t SKIP LOCKED
            ), claimed AS (
                UPDATE generation_tasks t
                SET state = 'running', attempts = t.attempts + 1, lease_owner = @workerId,
                    lease_expires_at = @now + @lease, updated_at = @now
                FROM next
                WHERE t.id = next.id
                RETURNING t.*
            ), started AS (
                UPDATE generation_runs r SET started_at = @now
                WHERE r.id IN (SELECT run_id FROM claimed) AND r.started_at IS NULL
            )
            SELECT c.id AS Id, c.run_id AS RunId, c.seq AS Seq, r.created_by AS CreatedBy, c.prompt AS Prompt,
                   r.model AS Model, r.max_tokens AS MaxTokens, r.temperature AS Temperature,
                   c.template_id AS TemplateId, c.persona_id AS PersonaId, c.emotional_arc_id AS EmotionalArcId,
                   c.training_topic_id AS TrainingTopicId, c.attempts AS Attempts
            FROM claimed c JOIN generation_runs r ON r.id = c.run_id
            ORDER BY c.created_at, c.seq
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<ClaimedTask>(new CommandDefinition(
            Sql, new { limit, workerId, lease, now = timeProvider.GetUtcNow() }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>Heartbeat: renews the lease of tasks this worker still owns. Returns how many it still owns.</summary>
    public async Task<int> ExtendLeasesAsync(string workerId, IReadOnlyCollection<Guid> taskIds, TimeSpan lease, CancellationToken ct)
    {
        if (taskIds.Count == 0)
        {
            return 0;
        }

        const string Sql = """
            UPDATE generation_tasks SET lease_expires_at = @now + @lease, updated_at = @now
            WHERE id = ANY(@ids) AND state = 'running' AND lease_owner = @workerId
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { ids = taskIds.ToArray(), workerId, lease, now = timeProvider.GetUtcNow() }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Puts tasks this worker owns back in the queue (graceful shutdown, or a storage outage).</summary>
    public async Task<int> ReleaseAsync(string workerId, IReadOnlyCollection<Guid> taskIds, string? reason, CancellationToken ct)
    {
        if (taskIds.Count == 0)
        {
            return 0;
        }

        const string Sql = """
            UPDATE generation_tasks
            SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now,
                last_error = COALESCE(@reason, last_error)
            WHERE id = ANY(@ids) AND state = 'running' AND lease_owner = @workerId
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var released = await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { ids = taskIds.ToArray(), workerId, reason, now = timeProvider.GetUtcNow() }, cancellationToken: ct)).ConfigureAwait(false);
        await NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        return released;
    }

    /// <summary>Sends tasks whose lease expired (their worker died) back to the queue.</summary>
    public async Task<int> RescueExpiredAsync(CancellationToken ct)
    {
        const string Sql = """
            UPDATE generation_tasks
            SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now,
                last_error = 'lease expired: the worker holding it stopped renewing'
            WHERE state = 'running' AND lease_expires_at < @now
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var rescued = await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { now = timeProvider.GetUtcNow() }, cancellationToken: ct)).ConfigureAwait(false);
        if (rescued > 0)
        {
            await NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        }

        return rescued;
    }

    /// <summary>
    /// Moves a running task to a final state inside the caller's transaction and bumps the run counter, but only
    /// if the task was still running: a duplicate delivery that finishes second changes nothing.
    /// Returns the run's counters after the change, or null when the task was already final.
    /// </summary>
    internal async Task<RunCounters?> FinishInTransactionAsync(
        DbConnection connection, DbTransaction transaction, Guid taskId, string finalState, string? lastError, CancellationToken ct)
    {
        var counter = finalState switch
        {
            TaskState.Succeeded => "succeeded",
            TaskState.Failed => "failed",
            _ => throw new ArgumentOutOfRangeException(nameof(finalState), finalState, "Only succeeded or failed finish a task."),
        };

        // The counter column name comes from the closed switch above, never from input.
        var sql = $"""
            WITH moved AS (
                UPDATE generation_tasks
                SET state = @finalState, finished_at = @now, updated_at = @now, lease_owner = NULL,
                    lease_expires_at = NULL, last_error = @lastError
                WHERE id = @taskId AND state = 'running'
                RETURNING run_id
            )
            UPDATE generation_runs r SET {counter} = r.{counter} + 1
            FROM moved WHERE r.id = moved.run_id
            RETURNING r.id AS RunId, r.status AS Status, r.total AS Total, r.succeeded AS Succeeded,
                      r.failed AS Failed, r.cancelled AS Cancelled
            """;
        return await connection.QuerySingleOrDefaultAsync<RunCounters>(new CommandDefinition(
            sql, new { taskId, finalState, lastError, now = timeProvider.GetUtcNow() }, transaction, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Marks the run completed when no task of it is left to do. Safe to call repeatedly.</summary>
    internal async Task<bool> CompleteRunIfDoneAsync(DbConnection connection, DbTransaction? transaction, Guid runId, CancellationToken ct)
    {
        const string Sql = """
            UPDATE generation_runs r SET status = CASE WHEN r.status = 'running' THEN 'completed' ELSE r.status END,
                   finished_at = @now
            WHERE r.id = @runId AND r.finished_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state IN ('available', 'running'))
            """;
        return await connection.ExecuteAsync(new CommandDefinition(
            Sql, new { runId, now = timeProvider.GetUtcNow() }, transaction, cancellationToken: ct)).ConfigureAwait(false) > 0;
    }

    internal static async Task NotifyWorkAsync(DbConnection connection, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"SELECT pg_notify('{TasksChannel}', '')", cancellationToken: ct)).ConfigureAwait(false);
}

/// <summary>A run's stored counters right after a task finished.</summary>
public sealed record RunCounters(Guid RunId, string Status, int Total, int Succeeded, int Failed, int Cancelled);
