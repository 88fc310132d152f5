using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

        var (id, createdAt) = NewIdentity();

        Guid? insertedId;
        await using (var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false))
        {
            insertedId = await InsertAsync(connection, null, input, id, createdAt, createdBy, cancellationToken).ConfigureAwait(false);
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

    /// <summary>A new row's id and creation time, at millisecond precision (the report's path is rebuilt from the stored value).</summary>
    internal (Guid Id, DateTimeOffset CreatedAt) NewIdentity()
    {
        var now = _time.GetUtcNow();
        var createdAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        return (Guid.CreateVersion7(createdAt), createdAt);
    }

    /// <summary>
    /// Inserts the row on the caller's connection and transaction, for writes that must commit together with the
    /// row (a quarantine moves a conversation out in the same transaction). The caller uploads the report after
    /// committing, with <see cref="UploadReportAsync"/>; until then the retrier would find it.
    /// </summary>
    /// <returns>The id, or null when the task already has a row.</returns>
    internal async Task<Guid?> InsertAsync(
        Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? transaction, FailedGenerationInput input, Guid id, DateTimeOffset createdAt, Guid createdBy, CancellationToken cancellationToken)
    {
        var inserted = await InsertManyAsync(connection, transaction, [new NewFailedGeneration(input, id, createdAt, createdBy)], cancellationToken).ConfigureAwait(false);
        return inserted.Count == 0 ? null : inserted[0];
    }

    /// <summary>
    /// Inserts rows in one statement (one round trip, and one firing of the statement-level count triggers however
    /// many rows): batch ingestion stores a chunk's failures this way. Rows whose task already has one are skipped.
    /// </summary>
    /// <returns>The ids of the rows inserted.</returns>
    internal async Task<IReadOnlyList<Guid>> InsertManyAsync(
        Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? transaction, IReadOnlyList<NewFailedGeneration> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        T[] Column<T>(Func<NewFailedGeneration, T> value) => rows.Select(value).ToArray();
        var grace = _options.Value.InitialGrace;

        // The column list and the unnest arguments are in the same order; report_status takes its default ('pending').
        var inserted = await connection.QueryAsync<Guid>(new CommandDefinition(
            """
            INSERT INTO failed_generations (
                id, conversation_id, run_id, task_id, source, dataset_id,
                prompt, prompt_length, model, max_tokens, temperature, structured_outputs_enabled,
                raw_response, raw_body, response_content,
                stop_reason, stop_sequence, stop_details_category, stop_details_explanation,
                input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
                request_id, http_status, duration_ms, streamed, stream_outcome, transport_failure, attempts, rate_limit_headers,
                failure_type, truncation_pattern, truncation_details, detection_confidence, error_message, error_stack,
                report_next_attempt_at, created_at, created_by,
                persona_id, emotional_arc_id, training_topic_id, template_id,
                cost_usd, simulated, api_attempts,
                batch_id, batch_custom_id, batch_result_type,
                scan_id, quarantined_row)
            SELECT * FROM unnest(
                @Id, @ConversationId, @RunId, @TaskId, @Source, @DatasetId,
                @Prompt, @PromptLength, @Model, @MaxTokens, @Temperature, @StructuredOutputsEnabled,
                @RawResponse::jsonb[], @RawBody, @ResponseContent,
                @StopReason, @StopSequence, @StopDetailsCategory, @StopDetailsExplanation,
                @InputTokens, @OutputTokens, @CacheCreationInputTokens, @CacheReadInputTokens,
                @RequestId, @HttpStatus, @DurationMs, @Streamed, @StreamOutcome, @TransportFailure, @Attempts, @RateLimitHeaders::jsonb[],
                @FailureType, @TruncationPattern, @TruncationDetails, @DetectionConfidence, @ErrorMessage, @ErrorStack,
                @ReportNextAttemptAt, @CreatedAt, @CreatedBy,
                @PersonaId, @EmotionalArcId, @TrainingTopicId, @TemplateId,
                @CostUsd, @Simulated, @ApiAttempts::jsonb[],
                @BatchId, @BatchCustomId, @BatchResultType,
                @ScanId, @QuarantinedRow::jsonb[])
            ON CONFLICT (task_id) DO NOTHING
            RETURNING id
            """,
            new
            {
                Id = Column(r => r.Id),
                ConversationId = Column(r => r.Input.ConversationId),
                RunId = Column(r => r.Input.RunId),
                TaskId = Column(r => r.Input.TaskId),
                Source = Column(r => r.Input.Source),
                DatasetId = Column(r => r.Input.DatasetId),
                Prompt = Column(r => PostgresText.Storable(r.Input.Prompt)),
                PromptLength = Column(r => r.Input.PromptLength),
                Model = Column(r => r.Input.Model),
                MaxTokens = Column(r => r.Input.MaxTokens),
                Temperature = Column(r => r.Input.Temperature),
                StructuredOutputsEnabled = Column(r => r.Input.StructuredOutputsEnabled),
                RawResponse = Column(r => Core.Reports.RawResponseJson.ToJsonText(PostgresText.Storable(r.Input.RawBody)!)),
                RawBody = Column(r => PostgresText.Storable(r.Input.RawBody)),
                ResponseContent = Column(r => PostgresText.Storable(r.Input.ResponseContent)),
                StopReason = Column(r => r.Input.StopReason),
                StopSequence = Column(r => PostgresText.Storable(r.Input.StopSequence)),
                StopDetailsCategory = Column(r => r.Input.StopDetailsCategory),
                StopDetailsExplanation = Column(r => PostgresText.Storable(r.Input.StopDetailsExplanation)),
                InputTokens = Column(r => r.Input.InputTokens),
                OutputTokens = Column(r => r.Input.OutputTokens),
                CacheCreationInputTokens = Column(r => r.Input.CacheCreationInputTokens),
                CacheReadInputTokens = Column(r => r.Input.CacheReadInputTokens),
                RequestId = Column(r => r.Input.RequestId),
                HttpStatus = Column(r => r.Input.HttpStatus),
                DurationMs = Column(r => r.Input.DurationMs),
                Streamed = Column(r => r.Input.Streamed),
                StreamOutcome = Column(r => r.Input.StreamOutcome),
                TransportFailure = Column(r => r.Input.TransportFailure),
                Attempts = Column(r => r.Input.Attempts),
                RateLimitHeaders = Column(r => JsonSerializer.Serialize(r.Input.RateLimitHeaders)),
                FailureType = Column(r => r.Input.FailureType.ToWire()),
                TruncationPattern = Column(r => r.Input.TruncationPattern),
                TruncationDetails = Column(r => PostgresText.Storable(r.Input.TruncationDetails)),
                DetectionConfidence = Column(r => r.Input.Confidence.ToWire()),
                ErrorMessage = Column(r => PostgresText.Storable(r.Input.ErrorMessage)),
                ErrorStack = Column(r => PostgresText.Storable(r.Input.ErrorStack)),
                ReportNextAttemptAt = Column(r => (r.CreatedAt + grace).UtcDateTime),
                CreatedAt = Column(r => r.CreatedAt.UtcDateTime),
                CreatedBy = Column(r => r.CreatedBy),
                PersonaId = Column(r => r.Input.Scaffolding.PersonaId),
                EmotionalArcId = Column(r => r.Input.Scaffolding.EmotionalArcId),
                TrainingTopicId = Column(r => r.Input.Scaffolding.TrainingTopicId),
                TemplateId = Column(r => r.Input.Scaffolding.TemplateId),
                CostUsd = Column(r => r.Input.CostUsd),
                Simulated = Column(r => r.Input.Simulated),
                ApiAttempts = Column(r => ApiAttemptsJson.Serialize(r.Input.ApiAttempts)),
                BatchId = Column(r => r.Input.Batch?.BatchId),
                BatchCustomId = Column(r => r.Input.Batch?.CustomId),
                BatchResultType = Column(r => r.Input.Batch?.ResultType),
                ScanId = Column(r => r.ScanId),
                QuarantinedRow = Column(r => r.QuarantinedRow),
            },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return inserted.AsList();
    }

    /// <summary>
    /// Stores many rows inside the caller's transaction, in one statement, and leaves their reports to
    /// <see cref="ReportUploadRetrier"/>: batch ingestion must not wait on blob storage a report at a time. Idempotent
    /// per task: returns, for each task, the id of the row stored for it (new or earlier).
    /// </summary>
    internal async Task<IReadOnlyDictionary<Guid, Guid>> StoreManyForRetrierAsync(
        Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, IReadOnlyList<(FailedGenerationInput Input, Guid CreatedBy)> failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var taskIds = failures.Select(f => f.Input.TaskId ?? throw new ArgumentException("Every failure needs a task id.", nameof(failures))).ToArray();
        var rows = failures.Select(f =>
        {
            var (id, createdAt) = NewIdentity();
            return new NewFailedGeneration(f.Input, id, createdAt, f.CreatedBy);
        }).ToList();
        await InsertManyAsync(connection, transaction, rows, cancellationToken).ConfigureAwait(false);

        var stored = await connection.QueryAsync<(Guid TaskId, Guid Id)>(new CommandDefinition(
            "SELECT task_id, id FROM failed_generations WHERE task_id = ANY(@taskIds)", new { taskIds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return stored.ToDictionary(r => r.TaskId, r => r.Id);
    }

    /// <summary>Uploads the report of a row inserted with <see cref="InsertAsync"/> once its transaction committed.</summary>
    internal Task<(string Status, string? Path)> UploadReportAsync(Guid owner, FailedGenerationInput input, Guid id, DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        _uploader.UploadAsync(DbIdentity.User(owner), input, id, createdAt, attemptsBefore: 0, cancellationToken);
}

/// <summary>
/// A failed generation to insert: its input, its new id and creation time (see <see cref="FailedGenerationStore.NewIdentity"/>)
/// and its owner. A scan's quarantine also sets its scan and the conversation row it moved (as JSON text), so the row
/// is written once, whole, rather than inserted and then updated.
/// </summary>
internal sealed record NewFailedGeneration(FailedGenerationInput Input, Guid Id, DateTimeOffset CreatedAt, Guid CreatedBy, Guid? ScanId = null, string? QuarantinedRow = null);

/// <summary>The <c>api_attempts</c> jsonb column.</summary>
internal static class ApiAttemptsJson
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Serialize(IReadOnlyList<ApiAttempt> attempts) => JsonSerializer.Serialize(attempts, Options);

    public static IReadOnlyList<ApiAttempt> Deserialize(string json) =>
        JsonSerializer.Deserialize<List<ApiAttempt>>(json, Options) ?? [];
}
