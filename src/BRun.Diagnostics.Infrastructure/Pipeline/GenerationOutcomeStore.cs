using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// Writes a task's outcome and moves the task to its final state. Both writes are keyed by task id, so a task
/// delivered twice is stored once and counted once.
/// </summary>
public sealed class GenerationOutcomeStore(IUserScopedConnectionFactory connections, GenerationQueue queue, TimeProvider timeProvider)
{
    /// <summary>What is already stored for a task (a redelivery after a crash between storing and finishing).</summary>
    public sealed record StoredOutcome(Guid? ConversationId, Guid? FailureId);

    public async Task<StoredOutcome?> FindAsync(Guid taskId, CancellationToken ct)
    {
        const string Sql = """
            SELECT (SELECT id FROM conversations WHERE task_id = @taskId) AS ConversationId,
                   (SELECT id FROM failed_generations WHERE task_id = @taskId) AS FailureId
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var row = await connection.QuerySingleAsync<StoredOutcome>(new CommandDefinition(Sql, new { taskId }, cancellationToken: ct)).ConfigureAwait(false);
        return row.ConversationId is null && row.FailureId is null ? null : row;
    }

    /// <summary>Stores a validated conversation and finishes the task as succeeded, in one transaction.</summary>
    public async Task<RunEvent?> StoreConversationAsync(ClaimedTask task, CapturedResponse captured, Conversation conversation, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentNullException.ThrowIfNull(conversation);

        const string Insert = """
            INSERT INTO conversations (run_id, task_id, model, stop_reason, input_tokens, output_tokens, turns, metadata,
                                       persona_id, emotional_arc_id, training_topic_id, template_id, created_by, created_at)
            VALUES (@RunId, @TaskId, @Model, @StopReason, @InputTokens, @OutputTokens, @Turns::jsonb, @Metadata::jsonb,
                    @PersonaId, @EmotionalArcId, @TrainingTopicId, @TemplateId, @CreatedBy, @Now)
            ON CONFLICT (task_id) DO NOTHING
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(Insert, new
        {
            task.RunId,
            TaskId = task.Id,
            Model = captured.Parsed.Model ?? task.Model,
            captured.Parsed.StopReason,
            captured.Parsed.Usage.InputTokens,
            captured.Parsed.Usage.OutputTokens,
            Turns = JsonSerializer.Serialize(conversation.Turns.Select(t => new { role = t.Role.ToString().ToLowerInvariant(), content = t.Content })),
            Metadata = JsonSerializer.Serialize(new
            {
                persona = conversation.Metadata.Persona,
                emotional_arc = conversation.Metadata.EmotionalArc,
                training_topic = conversation.Metadata.TrainingTopic,
                turn_count = conversation.Metadata.TurnCount,
            }),
            task.PersonaId,
            task.EmotionalArcId,
            task.TrainingTopicId,
            task.TemplateId,
            task.CreatedBy,
            Now = timeProvider.GetUtcNow(),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        var runEvent = await FinishAsync(connection, transaction, task.Id, TaskState.Succeeded, null, null, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return runEvent;
    }

    /// <summary>Finishes a task whose failure is already stored in failed_generations.</summary>
    public async Task<RunEvent?> FinishFailedAsync(Guid taskId, Guid? failureId, string lastError, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var runEvent = await FinishAsync(connection, transaction, taskId, TaskState.Failed, failureId, lastError, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return runEvent;
    }

    /// <summary>Finishes a redelivered task whose outcome was stored by an earlier delivery.</summary>
    public async Task<RunEvent?> FinishStoredAsync(Guid taskId, StoredOutcome stored, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stored);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var runEvent = stored.ConversationId is not null
            ? await FinishAsync(connection, transaction, taskId, TaskState.Succeeded, null, null, ct).ConfigureAwait(false)
            : await FinishAsync(connection, transaction, taskId, TaskState.Failed, stored.FailureId, "stored by an earlier delivery", ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return runEvent;
    }

    private async Task<RunEvent?> FinishAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid taskId, string state, Guid? failureId, string? lastError, CancellationToken ct)
    {
        var counters = await queue.FinishInTransactionAsync(connection, transaction, taskId, state, lastError, ct).ConfigureAwait(false);
        if (counters is null)
        {
            // Another delivery finished it first: nothing to count, nothing to announce.
            return null;
        }

        var kind = state == TaskState.Succeeded ? RunEvent.TaskSucceeded : RunEvent.TaskFailed;
        var runEvent = RunEvent.FromCounters(kind, taskId, failureId, counters);
        await RunEvents.PublishAsync(connection, transaction, runEvent, ct).ConfigureAwait(false);
        if (await queue.CompleteRunIfDoneAsync(connection, transaction, counters.RunId, ct).ConfigureAwait(false))
        {
            var finalStatus = counters.Status == RunStatus.Running ? RunStatus.Completed : counters.Status;
            await RunEvents.PublishAsync(connection, transaction, runEvent with { Kind = "run_finished", TaskId = null, FailureId = null, Status = finalStatus }, ct).ConfigureAwait(false);
        }

        return runEvent;
    }
}
