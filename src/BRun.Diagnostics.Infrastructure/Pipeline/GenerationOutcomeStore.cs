using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Telemetry;
using BRun.Diagnostics.Core.Validation;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// Writes a task's outcome and finishes the task in one transaction, fenced by the delivery's attempt number: the
/// task row is moved out of <c>running</c> first (<c>WHERE attempts = @attempt AND state = 'running'</c>), and only
/// if that moved it is the outcome written. A stale delivery (its lease expired and the task was delivered again)
/// therefore writes nothing, and a task ends with at most one outcome across <c>conversations</c> and
/// <c>failed_generations</c>.
/// </summary>
public sealed class GenerationOutcomeStore(
    IUserScopedConnectionFactory connections, GenerationQueue queue, FailedGenerationStore failures, DiagnosticsMetrics? metrics = null)
{
    /// <summary>Stores a validated conversation and finishes the task as succeeded. Null when the delivery was stale.</summary>
    public async Task<RunEvent?> StoreConversationAsync(
        ClaimedTask task, CapturedResponse captured, Conversation conversation, decimal? taskCost, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentNullException.ThrowIfNull(conversation);

        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (await FenceAsync(connection, transaction, task, TaskState.Succeeded, null, taskCost, ct).ConfigureAwait(false) is not { } counters)
        {
            return null;
        }

        const string Insert = """
            INSERT INTO conversations (run_id, task_id, model, stop_reason, input_tokens, output_tokens, turns, metadata,
                                       persona_id, emotional_arc_id, training_topic_id, template_id, created_by, created_at,
                                       cost_usd, simulated)
            VALUES (@RunId, @TaskId, @Model, @StopReason, @InputTokens, @OutputTokens, @Turns::json, @Metadata::jsonb,
                    @PersonaId, @EmotionalArcId, @TrainingTopicId, @TemplateId, @CreatedBy, now(), @CostUsd, @Simulated)
            """;
        await connection.ExecuteAsync(new CommandDefinition(Insert, new
        {
            task.RunId,
            TaskId = task.Id,
            Model = PostgresText.Storable(captured.Parsed.Model) ?? task.Model,
            StopReason = PostgresText.Storable(captured.Parsed.StopReason),
            captured.Parsed.Usage.InputTokens,
            captured.Parsed.Usage.OutputTokens,
            Turns = TrainingRecord.WriteTurns(conversation.Turns),
            // jsonb refuses a NUL that the model wrote into its metadata (PostgresText).
            Metadata = PostgresText.StorableJsonb(JsonSerializer.Serialize(new
            {
                persona = conversation.Metadata.Persona,
                emotional_arc = conversation.Metadata.EmotionalArc,
                training_topic = conversation.Metadata.TrainingTopic,
                turn_count = conversation.Metadata.TurnCount,
            })),
            task.PersonaId,
            task.EmotionalArcId,
            task.TrainingTopicId,
            task.TemplateId,
            task.CreatedBy,
            CostUsd = taskCost,
            captured.Simulated,
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        var runEvent = await AnnounceAsync(connection, transaction, task.Id, TaskState.Succeeded, null, counters, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        metrics?.TaskSucceeded();
        TaskTracing.SetOutcome(DiagnosticsMetrics.Outcomes.Succeeded);
        return runEvent;
    }

    /// <summary>
    /// Stores a failed generation and finishes the task as failed in one transaction, then uploads its report (a
    /// report that misses blob storage is left to the retrier). Null when the delivery was stale.
    /// </summary>
    public async Task<RunEvent?> StoreFailureAsync(ClaimedTask task, FailedGenerationInput input, string lastError, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(input);

        var (failureId, createdAt) = failures.NewIdentity();
        RunEvent runEvent;
        await using (var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            if (await FenceAsync(connection, transaction, task, TaskState.Failed, lastError, input.CostUsd, ct).ConfigureAwait(false) is not { } counters)
            {
                return null;
            }

            _ = await failures.InsertAsync(connection, transaction, input, failureId, createdAt, task.CreatedBy, ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Task {task.Id} already has a failed generation, though this delivery owned it.");
            runEvent = await AnnounceAsync(connection, transaction, task.Id, TaskState.Failed, failureId, counters, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }

        var failureType = input.FailureType.ToWire();
        metrics?.TaskFailed(failureType, input.TruncationPattern, input.StopReason);
        TaskTracing.SetOutcome(DiagnosticsMetrics.Outcomes.Failed, failureType);

        // Checkpoint: row and task state are committed together; the report upload may now fail without losing anything.
        await failures.UploadReportAsync(task.CreatedBy, input, failureId, createdAt, ct).ConfigureAwait(false);
        return runEvent;
    }

    /// <summary>Ends a task with no stored outcome (given up after repeated errors of ours). Null when the delivery was stale.</summary>
    public async Task<RunEvent?> GiveUpAsync(ClaimedTask task, string lastError, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (await FenceAsync(connection, transaction, task, TaskState.Failed, lastError, null, ct).ConfigureAwait(false) is not { } counters)
        {
            return null;
        }

        var runEvent = await AnnounceAsync(connection, transaction, task.Id, TaskState.Failed, null, counters, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        metrics?.TaskFailed(GaveUp);
        TaskTracing.SetOutcome(DiagnosticsMetrics.Outcomes.Failed, GaveUp);
        return runEvent;
    }

    /// <summary>The failure type metrics and spans give a task ended with no failed generation stored.</summary>
    public const string GaveUp = "gave_up";

    /// <summary>
    /// Checkpoint (fence): finishes the task for this delivery, or rolls back and returns null when the delivery no
    /// longer owns it, so the caller writes nothing.
    /// </summary>
    private async Task<RunCounters?> FenceAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, ClaimedTask task, string state, string? lastError, decimal? taskCost, CancellationToken ct)
    {
        var counters = await queue.FinishInTransactionAsync(connection, transaction, task.Id, task.Attempts, state, lastError, taskCost, ct).ConfigureAwait(false);
        if (counters is null)
        {
            await transaction.RollbackAsync(ct).ConfigureAwait(false);
            metrics?.TaskFencedOut();
            TaskTracing.SetOutcome(DiagnosticsMetrics.Outcomes.FencedOut);
        }

        return counters;
    }

    private async Task<RunEvent> AnnounceAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid taskId, string state, Guid? failureId, RunCounters counters, CancellationToken ct)
    {
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
