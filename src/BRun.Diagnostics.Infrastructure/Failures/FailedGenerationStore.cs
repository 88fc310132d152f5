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
            var inserted = await InsertAsync(connection, null, [Row(input, id, createdAt, createdBy, createdAt + _options.Value.InitialGrace)], cancellationToken).ConfigureAwait(false);
            insertedId = inserted.Count == 1 ? inserted[0].Id : null;

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
    /// Stores many rows inside the caller's transaction, in one statement, and leaves their reports to
    /// <see cref="ReportUploadRetrier"/>, due at once: batch ingestion must not wait on blob storage a report at a time.
    /// Idempotent per task: returns, for each task, the id of the row stored for it (new or earlier).
    /// </summary>
    internal async Task<IReadOnlyDictionary<Guid, Guid>> StoreManyForRetrierAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(FailedGenerationInput Input, Guid CreatedBy)> failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var now = _time.GetUtcNow();
        var createdAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        var rows = failures.Select(f => Row(f.Input, Guid.CreateVersion7(createdAt), createdAt, f.CreatedBy, createdAt)).ToList();
        await InsertAsync(connection, transaction, rows, cancellationToken).ConfigureAwait(false);
        var taskIds = failures.Select(f => f.Input.TaskId ?? throw new ArgumentException("Every failure needs a task id.", nameof(failures))).ToArray();
        var stored = await connection.QueryAsync<(Guid TaskId, Guid Id)>(new CommandDefinition(
            "SELECT task_id, id FROM failed_generations WHERE task_id = ANY(@taskIds)", new { taskIds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return stored.ToDictionary(r => r.TaskId, r => r.Id);
    }

    /// <summary>One <c>failed_generations</c> row as written; serialized in snake_case for <c>jsonb_to_recordset</c>.</summary>
    private sealed record InsertRow(
        Guid Id, Guid? ConversationId, Guid? RunId, Guid? TaskId,
        string Prompt, int PromptLength, string Model, int MaxTokens, decimal? Temperature, bool StructuredOutputsEnabled,
        string RawResponse, string RawBody, string? ResponseContent,
        string? StopReason, string? StopSequence, string? StopDetailsCategory, string? StopDetailsExplanation,
        int? InputTokens, int? OutputTokens, int? CacheCreationInputTokens, int? CacheReadInputTokens,
        string? RequestId, int HttpStatus, long? DurationMs, bool Streamed, string? StreamOutcome, string? TransportFailure, int Attempts,
        string RateLimitHeaders,
        string FailureType, string? TruncationPattern, string? TruncationDetails, string DetectionConfidence, string? ErrorMessage, string? ErrorStack,
        string ReportStatus, DateTime ReportNextAttemptAt, DateTime CreatedAt, Guid CreatedBy,
        Guid? PersonaId, Guid? EmotionalArcId, Guid? TrainingTopicId, Guid? TemplateId,
        string? BatchId, string? BatchCustomId, string? BatchResultType);

    private static InsertRow Row(FailedGenerationInput input, Guid id, DateTimeOffset createdAt, Guid createdBy, DateTimeOffset reportDueAt) => new(
        id, input.ConversationId, input.RunId, input.TaskId,
        input.Prompt, input.PromptLength, input.Model, input.MaxTokens, input.Temperature, input.StructuredOutputsEnabled,
        Core.Reports.RawResponseJson.ToJsonText(input.RawBody), input.RawBody, input.ResponseContent,
        input.StopReason, input.StopSequence, input.StopDetailsCategory, input.StopDetailsExplanation,
        input.InputTokens, input.OutputTokens, input.CacheCreationInputTokens, input.CacheReadInputTokens,
        input.RequestId, input.HttpStatus, input.DurationMs, input.Streamed, input.StreamOutcome, input.TransportFailure, input.Attempts,
        JsonSerializer.Serialize(input.RateLimitHeaders),
        input.FailureType.ToWire(), input.TruncationPattern, input.TruncationDetails, input.Confidence.ToWire(), input.ErrorMessage, input.ErrorStack,
        ReportStatus.Pending, reportDueAt.UtcDateTime, createdAt.UtcDateTime, createdBy,
        input.Scaffolding.PersonaId, input.Scaffolding.EmotionalArcId, input.Scaffolding.TrainingTopicId, input.Scaffolding.TemplateId,
        input.Batch?.BatchId, input.Batch?.CustomId, input.Batch?.ResultType);

    /// <summary>The one column map of the write path: every column and its type, in <see cref="InsertRow"/>'s order.</summary>
    private static readonly (string Column, string Type)[] InsertColumns =
    [
        ("id", "uuid"), ("conversation_id", "uuid"), ("run_id", "uuid"), ("task_id", "uuid"),
        ("prompt", "text"), ("prompt_length", "integer"), ("model", "text"), ("max_tokens", "integer"), ("temperature", "numeric"),
        ("structured_outputs_enabled", "boolean"),
        ("raw_response", "jsonb"), ("raw_body", "text"), ("response_content", "text"),
        ("stop_reason", "text"), ("stop_sequence", "text"), ("stop_details_category", "text"), ("stop_details_explanation", "text"),
        ("input_tokens", "integer"), ("output_tokens", "integer"), ("cache_creation_input_tokens", "integer"), ("cache_read_input_tokens", "integer"),
        ("request_id", "text"), ("http_status", "integer"), ("duration_ms", "bigint"), ("streamed", "boolean"), ("stream_outcome", "text"),
        ("transport_failure", "text"), ("attempts", "integer"),
        ("rate_limit_headers", "jsonb"),
        ("failure_type", "text"), ("truncation_pattern", "text"), ("truncation_details", "text"), ("detection_confidence", "text"),
        ("error_message", "text"), ("error_stack", "text"),
        ("report_status", "text"), ("report_next_attempt_at", "timestamptz"), ("created_at", "timestamptz"), ("created_by", "uuid"),
        ("persona_id", "uuid"), ("emotional_arc_id", "uuid"), ("training_topic_id", "uuid"), ("template_id", "uuid"),
        ("batch_id", "text"), ("batch_custom_id", "text"), ("batch_result_type", "text"),
    ];

    // The jsonb columns arrive as JSON text and are cast, so a body that is not JSON is never re-encoded on the way.
    private static readonly string InsertSql = $"""
        INSERT INTO failed_generations ({string.Join(", ", InsertColumns.Select(c => c.Column))})
        SELECT {string.Join(", ", InsertColumns.Select(c => c.Type == "jsonb" ? $"r.{c.Column}::jsonb" : $"r.{c.Column}"))}
        FROM jsonb_to_recordset(@rows::jsonb) AS r({string.Join(", ", InsertColumns.Select(c => $"{c.Column} {(c.Type is "jsonb" ? "text" : c.Type)}"))})
        ON CONFLICT (task_id) DO NOTHING
        RETURNING id AS Id, task_id AS TaskId
        """;

    private static readonly JsonSerializerOptions RowJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Inserts rows in one statement (one round trip however many); returns those inserted (a task conflict skips its row).</summary>
    private static async Task<IReadOnlyList<(Guid Id, Guid? TaskId)>> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<InsertRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        var inserted = await connection.QueryAsync<(Guid Id, Guid? TaskId)>(new CommandDefinition(
            InsertSql, new { rows = JsonSerializer.Serialize(rows, RowJson) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return inserted.AsList();
    }
}
