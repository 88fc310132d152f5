using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// The write path for failed generations: the row first, then its error report. A report that cannot be uploaded
/// leaves the row stored with a failed report status for <see cref="ReportUploadRetrier"/>; a database failure throws.
/// </summary>
public sealed class FailedGenerationStore
{
    private readonly IUserScopedConnectionFactory _connections;
    private readonly ReportUploader _uploader;
    private readonly IOptions<ReportUploadOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FailedGenerationStore> _logger;

    internal FailedGenerationStore(
        IUserScopedConnectionFactory connections,
        ReportUploader uploader,
        IOptions<ReportUploadOptions> options,
        TimeProvider time,
        ILogger<FailedGenerationStore> logger)
    {
        _connections = connections;
        _uploader = uploader;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Stores the failure as <paramref name="createdBy"/> (RLS: only as that user) and uploads its report.
    /// Idempotent per <see cref="FailedGenerationInput.TaskId"/>: a task that already has a row returns that row.
    /// </summary>
    /// <exception cref="Npgsql.NpgsqlException">The row could not be stored.</exception>
    public async Task<StoredFailedGeneration> StoreAsync(FailedGenerationInput input, Guid createdBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var identity = DbIdentity.User(createdBy);

        // Millisecond precision: the report's timestamp and path are rebuilt from the stored value, which must not round.
        var now = _time.GetUtcNow();
        var createdAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        var id = Guid.CreateVersion7(createdAt);

        Guid? insertedId;
        await using (var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false))
        {
            insertedId = await InsertAsync(connection, null, input, id, createdAt, createdBy, createdAt + _options.Value.InitialGrace, cancellationToken).ConfigureAwait(false);

            if (insertedId is null)
            {
                // Only a task_id conflict skips the insert. The existing row may belong to another user, in which case
                // RLS hides it and the caller gets an error rather than a silent success.
                var existing = await connection.QuerySingleOrDefaultAsync<StoredFailedGeneration>(new CommandDefinition(
                    """
                    SELECT id, false AS created, report_status AS reportstatus, raw_file_path AS rawfilepath
                    FROM failed_generations WHERE task_id = @TaskId
                    """,
                    new { input.TaskId },
                    cancellationToken: cancellationToken)).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Task {input.TaskId} already has a failed generation owned by another user.");
                _logger.FailedGenerationAlreadyStored(input.TaskId, existing.Id);
                return existing;
            }
        }

        _logger.FailedGenerationStored(id, input.FailureType.ToWire(), input.StopReason, input.TaskId);

        // Checkpoint: the row is committed. From here a crash or a storage outage only delays the report; the
        // retrier finds the row through report_next_attempt_at.
        var (status, path) = await _uploader.UploadAsync(identity, input, id, createdAt, attemptsBefore: 0, cancellationToken).ConfigureAwait(false);
        return new StoredFailedGeneration(id, Created: true, status, path);
    }

    /// <summary>
    /// Stores the row inside the caller's transaction and leaves its report to <see cref="ReportUploadRetrier"/>, due at
    /// once: for batch results, whose ingestion must not wait on blob storage one report at a time. Idempotent per task:
    /// returns the id of the row that is stored for the task, new or earlier.
    /// </summary>
    internal async Task<Guid> StoreForRetrierAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, FailedGenerationInput input, Guid createdBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var now = _time.GetUtcNow();
        var createdAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        var inserted = await InsertAsync(connection, transaction, input, Guid.CreateVersion7(createdAt), createdAt, createdBy, createdAt, cancellationToken).ConfigureAwait(false);
        return inserted ?? await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            "SELECT id FROM failed_generations WHERE task_id = @TaskId", new { input.TaskId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static Task<Guid?> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, FailedGenerationInput input, Guid id, DateTimeOffset createdAt, Guid createdBy,
        DateTimeOffset reportDueAt, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            """
            INSERT INTO failed_generations (
                id, conversation_id, run_id, task_id,
                prompt, prompt_length, model, max_tokens, temperature, structured_outputs_enabled,
                raw_response, raw_body, response_content,
                stop_reason, stop_sequence, stop_details_category, stop_details_explanation,
                input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
                request_id, http_status, duration_ms, streamed, stream_outcome, transport_failure, attempts, rate_limit_headers,
                failure_type, truncation_pattern, truncation_details, detection_confidence, error_message, error_stack,
                report_status, report_next_attempt_at, created_at, created_by,
                persona_id, emotional_arc_id, training_topic_id, template_id,
                batch_id, batch_custom_id, batch_result_type)
            VALUES (
                @Id, @ConversationId, @RunId, @TaskId,
                @Prompt, @PromptLength, @Model, @MaxTokens, @Temperature, @StructuredOutputsEnabled,
                @RawResponse::jsonb, @RawBody, @ResponseContent,
                @StopReason, @StopSequence, @StopDetailsCategory, @StopDetailsExplanation,
                @InputTokens, @OutputTokens, @CacheCreationInputTokens, @CacheReadInputTokens,
                @RequestId, @HttpStatus, @DurationMs, @Streamed, @StreamOutcome, @TransportFailure, @Attempts, @RateLimitHeaders::jsonb,
                @FailureType, @TruncationPattern, @TruncationDetails, @DetectionConfidence, @ErrorMessage, @ErrorStack,
                'pending', @ReportNextAttemptAt, @CreatedAt, @CreatedBy,
                @PersonaId, @EmotionalArcId, @TrainingTopicId, @TemplateId,
                @BatchId, @BatchCustomId, @BatchResultType)
            ON CONFLICT (task_id) DO NOTHING
            RETURNING id
            """,
            new
            {
                Id = id,
                input.ConversationId,
                input.RunId,
                input.TaskId,
                input.Prompt,
                input.PromptLength,
                input.Model,
                input.MaxTokens,
                input.Temperature,
                input.StructuredOutputsEnabled,
                RawResponse = Core.Reports.RawResponseJson.ToJsonText(input.RawBody),
                input.RawBody,
                input.ResponseContent,
                input.StopReason,
                input.StopSequence,
                input.StopDetailsCategory,
                input.StopDetailsExplanation,
                input.InputTokens,
                input.OutputTokens,
                input.CacheCreationInputTokens,
                input.CacheReadInputTokens,
                input.RequestId,
                input.HttpStatus,
                input.DurationMs,
                input.Streamed,
                input.StreamOutcome,
                input.TransportFailure,
                input.Attempts,
                RateLimitHeaders = JsonSerializer.Serialize(input.RateLimitHeaders),
                FailureType = input.FailureType.ToWire(),
                input.TruncationPattern,
                input.TruncationDetails,
                DetectionConfidence = input.Confidence.ToWire(),
                input.ErrorMessage,
                input.ErrorStack,
                ReportNextAttemptAt = reportDueAt.UtcDateTime,
                CreatedAt = createdAt.UtcDateTime,
                CreatedBy = createdBy,
                input.Scaffolding.PersonaId,
                input.Scaffolding.EmotionalArcId,
                input.Scaffolding.TrainingTopicId,
                input.Scaffolding.TemplateId,
                BatchId = input.Batch?.BatchId,
                BatchCustomId = input.Batch?.CustomId,
                BatchResultType = input.Batch?.ResultType,
            },
            transaction,
            cancellationToken: cancellationToken));
}
