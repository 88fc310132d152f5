using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Design;
using Dapper;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Telemetry;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>Creates, reads and cancels generation runs. Every call acts for a user, so row-level security decides what they see.</summary>
public sealed class RunStore(IUserScopedConnectionFactory connections, TimeProvider timeProvider, DiagnosticsMetrics? metrics = null)
{
    /// <summary>
    /// Creates a run and its tasks in one transaction. The template's current version and the persona, arc and topic
    /// texts are frozen into the run (<c>run_scaffolding</c>) and every prompt is rendered now, so editing a template
    /// or an item afterwards changes nothing in this run, pending tasks included. Tasks interleave the combinations
    /// (see <see cref="RunMatrixPlanner"/>), so a run covers its scaffolding evenly and reproducibly.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown or archived template or item, or a matrix that cannot be planned.</exception>
    public async Task<Guid> CreateAsync(Guid userId, CreateRunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Matrix?.PerCombination is null)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.Count);
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.MaxTokens);
        if (!RunMode.IsValid(request.Mode))
        {
            throw new ArgumentException($"Unknown run mode '{request.Mode}'; use '{RunMode.Online}' or '{RunMode.Batch}'.", nameof(request));
        }

        await using var connection = await connections.OpenAsync(DbIdentity.User(userId), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        var template = await RunDesignSnapshot.LoadTemplateAsync(connection, transaction, request.TemplateName, ct).ConfigureAwait(false);
        var design = await RunDesignSnapshot.LoadScaffoldingAsync(connection, transaction, request.Matrix, ct).ConfigureAwait(false);
        var cells = design.Plan(request);

        var now = timeProvider.GetUtcNow();
        var runId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition("""
            INSERT INTO generation_runs (created_by, created_at, model, max_tokens, temperature, template_id, template_version_id, matrix, total, mode)
            VALUES (@userId, @now, @model, @maxTokens, @temperature, @templateId, @versionId, @matrix::jsonb, @total, @mode)
            RETURNING id
            """,
            new
            {
                userId, now, model = request.Model, maxTokens = request.MaxTokens, temperature = request.Temperature,
                templateId = template.TemplateId, versionId = template.VersionId, matrix = design.MatrixJson(request.Matrix), total = cells.Count,
                mode = request.Mode,
            },
            transaction, cancellationToken: ct)).ConfigureAwait(false);
        await design.SaveAsync(connection, transaction, runId, ct).ConfigureAwait(false);

        // COPY FROM is refused on tables with row-level security, so the tasks go in as one INSERT over arrays.
        var seqs = new int[cells.Count];
        var personaIds = new Guid[cells.Count];
        var arcIds = new Guid[cells.Count];
        var topicIds = new Guid[cells.Count];
        var prompts = new string[cells.Count];
        for (var seq = 0; seq < cells.Count; seq++)
        {
            var scaffolding = design.At(cells[seq]);
            seqs[seq] = seq;
            personaIds[seq] = scaffolding.Persona.Id;
            arcIds[seq] = scaffolding.EmotionalArc.Id;
            topicIds[seq] = scaffolding.TrainingTopic.Id;
            prompts[seq] = PromptTemplate.Render(template.Body, PromptTemplate.Values(scaffolding, seq + 1));
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, template_version_id,
                                          prompt, created_at, updated_at)
            SELECT @runId, s.seq, s.persona_id, s.arc_id, s.topic_id, @templateId, @versionId, s.prompt, @now, @now
            FROM unnest(@seqs, @personaIds, @arcIds, @topicIds, @prompts) AS s(seq, persona_id, arc_id, topic_id, prompt)
            """,
            new { runId, templateId = template.TemplateId, versionId = template.VersionId, now, seqs, personaIds, arcIds, topicIds, prompts },
            transaction, cancellationToken: ct)).ConfigureAwait(false);

        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.RunCreated(runId, cells.Count), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return runId;
    }

    public async Task<RunSnapshot?> GetAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<RunSnapshot>(new CommandDefinition(
            SnapshotSql + " WHERE r.id = @runId", new { runId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Re-queues a failed task as a new task of the same run (same prompt and scaffolding), reopening the run if it
    /// had completed. Returns the new task id, or null when the task is not visible, not failed, already re-queued,
    /// or its run was cancelled.
    /// </summary>
    public async Task<Guid?> RequeueAsync(DbIdentity identity, Guid failedTaskId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        // Lock the run first: the new seq is max + 1, and two re-queues of one run must not pick the same number.
        var runId = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("""
            SELECT r.id FROM generation_runs r
            JOIN generation_tasks t ON t.run_id = r.id
            WHERE t.id = @failedTaskId AND t.state = 'failed' AND r.status <> 'cancelled'
              AND NOT EXISTS (SELECT 1 FROM generation_tasks n WHERE n.requeued_from = t.id)
            FOR UPDATE OF r
            """, new { failedTaskId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (runId is null)
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();
        var newTaskId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition("""
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, template_version_id,
                                          prompt, created_at, updated_at, requeued_from)
            SELECT t.run_id, (SELECT max(seq) + 1 FROM generation_tasks WHERE run_id = t.run_id), t.persona_id,
                   t.emotional_arc_id, t.training_topic_id, t.template_id, t.template_version_id, t.prompt, @now, @now, t.id
            FROM generation_tasks t WHERE t.id = @failedTaskId
            RETURNING id
            """, new { failedTaskId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            "UPDATE generation_runs SET total = total + 1, status = CASE WHEN status = 'paused' THEN 'paused' ELSE 'running' END, finished_at = NULL WHERE id = @runId;" +
            SnapshotSql + " WHERE r.id = @runId",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot("task_requeued", snapshot) with { TaskId = newTaskId }, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return newTaskId;
    }

    /// <summary>
    /// Re-queues every failed task of a run at once (optionally only those whose failure is of one type, such as
    /// <c>api_error</c> after an outage), each as a new task pointing back at the failed one, and reopens the run.
    /// Tasks already re-queued are skipped. Returns how many were re-queued; 0 when the run is not visible, cancelled,
    /// or has no such failure.
    /// </summary>
    public async Task<int> RequeueFailedAsync(DbIdentity identity, Guid runId, string? failureType, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        // Lock the run first: new seqs are numbered after the current max, and two re-queues must not collide.
        var locked = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM generation_runs WHERE id = @runId AND status <> 'cancelled' FOR UPDATE",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (locked is null)
        {
            return 0;
        }

        var now = timeProvider.GetUtcNow();
        var added = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, prompt,
                                          created_at, updated_at, requeued_from)
            SELECT t.run_id, (SELECT max(seq) FROM generation_tasks WHERE run_id = @runId) + row_number() OVER (ORDER BY t.seq),
                   t.persona_id, t.emotional_arc_id, t.training_topic_id, t.template_id, t.prompt, @now, @now, t.id
            FROM generation_tasks t
            LEFT JOIN failed_generations f ON f.task_id = t.id
            WHERE t.run_id = @runId AND t.state = 'failed'
              AND NOT EXISTS (SELECT 1 FROM generation_tasks n WHERE n.requeued_from = t.id)
              AND (@failureType::text IS NULL OR f.failure_type = @failureType::text)
            """, new { runId, now, failureType }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (added == 0)
        {
            return 0;
        }

        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            "UPDATE generation_runs SET total = total + @added, status = 'running', finished_at = NULL WHERE id = @runId;" +
            SnapshotSql + " WHERE r.id = @runId",
            new { runId, added }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot("task_requeued", snapshot), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return added;
    }

    /// <summary>Cancels a run: pending tasks are dropped, in-flight ones finish. Returns false when the run was neither running nor paused.</summary>
    public async Task<bool> CancelAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE generation_runs SET status = 'cancelled', paused_reason = NULL WHERE id = @runId AND status IN ('running', 'paused')",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (changed == 0)
        {
            return false;
        }

        var dropped = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            WITH dropped AS (
                UPDATE generation_tasks SET state = 'cancelled', finished_at = @now, updated_at = @now
                WHERE run_id = @runId AND state = 'available'
                RETURNING 1
            )
            UPDATE generation_runs SET cancelled = cancelled + (SELECT count(*) FROM dropped) WHERE id = @runId
            RETURNING (SELECT count(*) FROM dropped)
            """, new { runId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE generation_runs r SET finished_at = @now
            WHERE r.id = @runId AND NOT EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'running')
            """, new { runId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            SnapshotSql + " WHERE r.id = @runId", new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot("run_cancelled", snapshot), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        metrics?.TasksCancelled(dropped);
        return true;
    }

    /// <summary>
    /// Pauses a running run: workers claim none of its tasks until it is resumed or cancelled; tasks in flight
    /// finish. False when the run is not visible or not running.
    /// </summary>
    public Task<bool> PauseAsync(DbIdentity identity, Guid runId, string reason, CancellationToken ct) =>
        ChangeStatusAsync(identity, runId, "run_paused", """
            UPDATE generation_runs SET status = 'paused', paused_reason = @reason
            WHERE id = @runId AND status = 'running'
            """, reason, ct);

    /// <summary>
    /// Resumes a paused run (completing it at once when nothing is left to do). Alerts that already fired do not
    /// fire again, so the same condition does not pause it a second time. False when not visible or not paused.
    /// </summary>
    public Task<bool> ResumeAsync(DbIdentity identity, Guid runId, CancellationToken ct) =>
        ChangeStatusAsync(identity, runId, "run_resumed", """
            UPDATE generation_runs r
            SET status = CASE WHEN EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state IN ('available', 'running'))
                              THEN 'running' ELSE 'completed' END,
                paused_reason = NULL,
                finished_at = CASE WHEN EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state IN ('available', 'running'))
                                   THEN NULL ELSE COALESCE(r.finished_at, now()) END
            WHERE r.id = @runId AND r.status = 'paused'
            """, null, ct);

    private async Task<bool> ChangeStatusAsync(DbIdentity identity, Guid runId, string eventKind, string sql, string? reason, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (await connection.ExecuteAsync(new CommandDefinition(sql, new { runId, reason }, transaction, cancellationToken: ct)).ConfigureAwait(false) == 0)
        {
            return false;
        }

        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            SnapshotSql + " WHERE r.id = @runId", new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot(eventKind, snapshot), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

    internal const string SnapshotSql = """
        SELECT r.id AS Id, r.created_by AS CreatedBy, r.created_at AS CreatedAt, r.started_at AS StartedAt,
               r.finished_at AS FinishedAt, r.model AS Model, r.max_tokens AS MaxTokens, r.temperature AS Temperature,
               COALESCE(p.name, '(not visible)') AS TemplateName, r.status AS Status, r.total AS Total, r.succeeded AS Succeeded, r.failed AS Failed,
               r.cancelled AS Cancelled,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'running') AS InFlight,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'available') AS Pending,
               r.cost_usd AS CostUsd, r.failed_cost_usd AS FailedCostUsd, r.mode AS Mode
        FROM generation_runs r LEFT JOIN prompt_templates p ON p.id = r.template_id
        """;
}
