using BRun.Diagnostics.Core.Pipeline;
using Dapper;
using BRun.Diagnostics.Infrastructure.Database;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>Creates, reads and cancels generation runs. Every call acts for a user, so row-level security decides what they see.</summary>
public sealed class RunStore(IUserScopedConnectionFactory connections, TimeProvider timeProvider)
{
    /// <summary>
    /// Creates a run and its tasks in one transaction. Tasks cycle through every persona x arc x topic
    /// combination in a fixed order, so a run of N covers the scaffolding evenly and reproducibly.
    /// </summary>
    public async Task<Guid> CreateAsync(Guid userId, CreateRunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.MaxTokens);
        if (!RunMode.IsValid(request.Mode))
        {
            throw new ArgumentException($"Unknown run mode '{request.Mode}'; use '{RunMode.Online}' or '{RunMode.Batch}'.", nameof(request));
        }

        await using var connection = await connections.OpenAsync(DbIdentity.User(userId), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        var template = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Body)>(new CommandDefinition(
            "SELECT id, body FROM prompt_templates WHERE name = @name", new { name = request.TemplateName }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (template.Id == Guid.Empty)
        {
            throw new ArgumentException($"No prompt template named '{request.TemplateName}'.", nameof(request));
        }

        var personas = await LoadAsync(connection, transaction, "personas", ct).ConfigureAwait(false);
        var arcs = await LoadAsync(connection, transaction, "emotional_arcs", ct).ConfigureAwait(false);
        var topics = await LoadAsync(connection, transaction, "training_topics", ct).ConfigureAwait(false);
        if (personas.Count == 0 || arcs.Count == 0 || topics.Count == 0)
        {
            throw new InvalidOperationException("Personas, emotional arcs and training topics must each have at least one row.");
        }

        var now = timeProvider.GetUtcNow();
        var runId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition("""
            INSERT INTO generation_runs (created_by, created_at, model, max_tokens, temperature, template_id, total, mode)
            VALUES (@userId, @now, @model, @maxTokens, @temperature, @templateId, @total, @mode)
            RETURNING id
            """,
            new { userId, now, model = request.Model, maxTokens = request.MaxTokens, temperature = request.Temperature, templateId = template.Id, total = request.Count, mode = request.Mode },
            transaction, cancellationToken: ct)).ConfigureAwait(false);

        // COPY FROM is refused on tables with row-level security, so the tasks go in as one INSERT over arrays.
        var seqs = new int[request.Count];
        var personaIds = new Guid[request.Count];
        var arcIds = new Guid[request.Count];
        var topicIds = new Guid[request.Count];
        var prompts = new string[request.Count];
        for (var seq = 0; seq < request.Count; seq++)
        {
            var persona = personas[seq % personas.Count];
            var arc = arcs[seq / personas.Count % arcs.Count];
            var topic = topics[seq / (personas.Count * arcs.Count) % topics.Count];
            seqs[seq] = seq;
            personaIds[seq] = persona.Id;
            arcIds[seq] = arc.Id;
            topicIds[seq] = topic.Id;
            prompts[seq] = PromptTemplate.Render(template.Body, PromptTemplate.Values(new Scaffolding(persona, arc, topic), seq + 1));
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, prompt, created_at, updated_at)
            SELECT @runId, s.seq, s.persona_id, s.arc_id, s.topic_id, @templateId, s.prompt, @now, @now
            FROM unnest(@seqs, @personaIds, @arcIds, @topicIds, @prompts) AS s(seq, persona_id, arc_id, topic_id, prompt)
            """,
            new { runId, templateId = template.Id, now, seqs, personaIds, arcIds, topicIds, prompts },
            transaction, cancellationToken: ct)).ConfigureAwait(false);

        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.RunCreated(runId, request.Count), ct).ConfigureAwait(false);
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
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, prompt,
                                          created_at, updated_at, requeued_from)
            SELECT t.run_id, (SELECT max(seq) + 1 FROM generation_tasks WHERE run_id = t.run_id), t.persona_id,
                   t.emotional_arc_id, t.training_topic_id, t.template_id, t.prompt, @now, @now, t.id
            FROM generation_tasks t WHERE t.id = @failedTaskId
            RETURNING id
            """, new { failedTaskId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            "UPDATE generation_runs SET total = total + 1, status = 'running', finished_at = NULL WHERE id = @runId;" +
            SnapshotSql + " WHERE r.id = @runId",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot("task_requeued", snapshot) with { TaskId = newTaskId }, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return newTaskId;
    }

    /// <summary>Cancels a run: pending tasks are dropped, in-flight ones finish. Returns false when the run was not running.</summary>
    public async Task<bool> CancelAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE generation_runs SET status = 'cancelled' WHERE id = @runId AND status = 'running'",
            new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (changed == 0)
        {
            return false;
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            WITH dropped AS (
                UPDATE generation_tasks SET state = 'cancelled', finished_at = @now, updated_at = @now
                WHERE run_id = @runId AND state = 'available'
                RETURNING 1
            )
            UPDATE generation_runs SET cancelled = cancelled + (SELECT count(*) FROM dropped) WHERE id = @runId
            """, new { runId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE generation_runs r SET finished_at = @now
            WHERE r.id = @runId AND NOT EXISTS (SELECT 1 FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'running')
            """, new { runId, now }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        var snapshot = await connection.QuerySingleAsync<RunSnapshot>(new CommandDefinition(
            SnapshotSql + " WHERE r.id = @runId", new { runId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.FromSnapshot("run_cancelled", snapshot), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

    internal const string SnapshotSql = """
        SELECT r.id AS Id, r.created_by AS CreatedBy, r.created_at AS CreatedAt, r.started_at AS StartedAt,
               r.finished_at AS FinishedAt, r.model AS Model, r.max_tokens AS MaxTokens, r.temperature AS Temperature,
               p.name AS TemplateName, r.status AS Status, r.total AS Total, r.succeeded AS Succeeded, r.failed AS Failed,
               r.cancelled AS Cancelled,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'running') AS InFlight,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'available') AS Pending,
               r.mode AS Mode
        FROM generation_runs r JOIN prompt_templates p ON p.id = r.template_id
        """;

    private static async Task<List<ScaffoldingItem>> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, CancellationToken ct)
    {
        // Table names come from the three literals at the call sites only.
        var rows = await connection.QueryAsync<ScaffoldingItem>(new CommandDefinition(
            $"SELECT id AS Id, key AS Key, name AS Name, description AS Description FROM {table} ORDER BY key",
            transaction: transaction, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }
}
