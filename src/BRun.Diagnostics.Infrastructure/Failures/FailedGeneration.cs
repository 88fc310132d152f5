using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>Upload state of a failure's error report.</summary>
public static class ReportStatus
{
    /// <summary>Stored, upload not yet attempted (or in flight).</summary>
    public const string Pending = "pending";

    public const string Uploaded = "uploaded";

    /// <summary>The last attempt failed; the retrier tries again until its attempt limit.</summary>
    public const string Failed = "failed";

    /// <summary>The retrier could not read the row or rebuild its report; it is parked and logged, never retried.</summary>
    public const string Unreadable = "unreadable";
}

/// <summary>One row of <c>failed_generations</c>, as read by <see cref="FailedGenerationReader.GetAsync"/>. Times are UTC.</summary>
public sealed class FailedGeneration
{
    /// <summary>The select list that maps snake_case columns onto these properties.</summary>
    internal const string Columns = """
        id, conversation_id AS conversationid, run_id AS runid, task_id AS taskid,
        prompt, prompt_length AS promptlength, model, max_tokens AS maxtokens, temperature,
        structured_outputs_enabled AS structuredoutputsenabled,
        raw_response::text AS rawresponse, raw_body AS rawbody, response_content AS responsecontent,
        stop_reason AS stopreason, stop_sequence AS stopsequence,
        stop_details_category AS stopdetailscategory, stop_details_explanation AS stopdetailsexplanation,
        input_tokens AS inputtokens, output_tokens AS outputtokens,
        cache_creation_input_tokens AS cachecreationinputtokens, cache_read_input_tokens AS cachereadinputtokens,
        request_id AS requestid, http_status AS httpstatus, duration_ms AS durationms, streamed,
        stream_outcome AS streamoutcome, transport_failure AS transportfailure, attempts,
        rate_limit_headers::text AS ratelimitheaders,
        failure_type AS failuretype, truncation_pattern AS truncationpattern, truncation_details AS truncationdetails,
        detection_confidence AS detectionconfidence, error_message AS errormessage, error_stack AS errorstack,
        raw_file_path AS rawfilepath, report_status AS reportstatus, report_attempts AS reportattempts,
        report_last_error AS reportlasterror, report_uploaded_at AS reportuploadedat,
        report_next_attempt_at AS reportnextattemptat,
        created_at AS createdat, created_by AS createdby,
        persona_id AS personaid, emotional_arc_id AS emotionalarcid, training_topic_id AS trainingtopicid, template_id AS templateid,
        cost_usd AS costusd, simulated, api_attempts::text AS apiattempts,
        batch_id AS batchid, batch_custom_id AS batchcustomid, batch_result_type AS batchresulttype
        """;

    public Guid Id { get; init; }
    public Guid? ConversationId { get; init; }
    public Guid? RunId { get; init; }
    public Guid? TaskId { get; init; }
    public string Prompt { get; init; } = string.Empty;
    public int PromptLength { get; init; }
    public string Model { get; init; } = string.Empty;
    public int MaxTokens { get; init; }
    public decimal? Temperature { get; init; }
    public bool StructuredOutputsEnabled { get; init; }

    /// <summary>The jsonb column as text: the body when it was JSON, else the <c>{"format","body"}</c> wrapper.</summary>
    public string RawResponse { get; init; } = "{}";

    /// <summary>The body byte-exact as received.</summary>
    public string RawBody { get; init; } = string.Empty;
    public string? ResponseContent { get; init; }
    public string? StopReason { get; init; }
    public string? StopSequence { get; init; }
    public string? StopDetailsCategory { get; init; }
    public string? StopDetailsExplanation { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public int? CacheCreationInputTokens { get; init; }
    public int? CacheReadInputTokens { get; init; }
    public string? RequestId { get; init; }
    public int HttpStatus { get; init; }
    public long? DurationMs { get; init; }
    public bool Streamed { get; init; }
    public string? StreamOutcome { get; init; }
    public string? TransportFailure { get; init; }
    public int Attempts { get; init; }

    /// <summary>The rate-limit headers as a JSON object text.</summary>
    public string RateLimitHeaders { get; init; } = "{}";

    /// <summary>Wire name, see <see cref="FailureTypeNames"/>.</summary>
    public string FailureType { get; init; } = string.Empty;
    public string? TruncationPattern { get; init; }
    public string? TruncationDetails { get; init; }
    public string DetectionConfidence { get; init; } = string.Empty;
    public string? ErrorMessage { get; init; }
    public string? ErrorStack { get; init; }
    public string? RawFilePath { get; init; }

    /// <summary>One of <see cref="Failures.ReportStatus"/>.</summary>
    public string ReportStatus { get; init; } = Failures.ReportStatus.Pending;
    public int ReportAttempts { get; init; }
    public string? ReportLastError { get; init; }
    public DateTime? ReportUploadedAt { get; init; }
    public DateTime? ReportNextAttemptAt { get; init; }
    public DateTime CreatedAt { get; init; }
    public Guid CreatedBy { get; init; }
    public Guid? PersonaId { get; init; }
    public Guid? EmotionalArcId { get; init; }
    public Guid? TrainingTopicId { get; init; }
    public Guid? TemplateId { get; init; }

    /// <summary>What every Claude call of the task cost, USD; null when the model has no price.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>Answered by the built-in simulator, not Claude.</summary>
    public bool Simulated { get; init; }

    /// <summary>The attempt history as JSON text (see <see cref="ApiAttempt"/>).</summary>
    public string ApiAttempts { get; init; } = "[]";

    /// <summary>Every Claude call of the task, oldest first (<see cref="ApiAttempts"/> parsed).</summary>
    public IReadOnlyList<ApiAttempt> ApiAttemptList => ApiAttemptsJson.Deserialize(ApiAttempts);

    /// <summary>Anthropic's message batch id, when the failure came from a batch result.</summary>
    public string? BatchId { get; init; }
    public string? BatchCustomId { get; init; }

    /// <summary>What the batch called the result (<c>succeeded</c>, <c>errored</c>).</summary>
    public string? BatchResultType { get; init; }

    /// <summary>The batch the failure came from, with its custom_id; null for an online failure.</summary>
    public BatchProvenance? Batch => BatchId is not null && BatchCustomId is not null && BatchResultType is not null
        ? new BatchProvenance(BatchId, BatchCustomId, BatchResultType)
        : null;

    public DateTimeOffset CreatedAtOffset => new(DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc));

    /// <summary>The input this row was stored from: the report rebuilt from it equals the one built at store time.</summary>
    public FailedGenerationInput ToInput() => new()
    {
        ConversationId = ConversationId,
        RunId = RunId,
        TaskId = TaskId,
        Scaffolding = new ScaffoldingIds(PersonaId, EmotionalArcId, TrainingTopicId, TemplateId),
        Prompt = Prompt,
        Model = Model,
        MaxTokens = MaxTokens,
        Temperature = Temperature,
        StructuredOutputsEnabled = StructuredOutputsEnabled,
        RawBody = RawBody,
        ResponseContent = ResponseContent,
        StopReason = StopReason,
        StopSequence = StopSequence,
        StopDetailsCategory = StopDetailsCategory,
        StopDetailsExplanation = StopDetailsExplanation,
        InputTokens = InputTokens,
        OutputTokens = OutputTokens,
        CacheCreationInputTokens = CacheCreationInputTokens,
        CacheReadInputTokens = CacheReadInputTokens,
        RequestId = RequestId,
        HttpStatus = HttpStatus,
        DurationMs = DurationMs,
        Streamed = Streamed,
        StreamOutcome = StreamOutcome,
        TransportFailure = TransportFailure,
        Attempts = Attempts,
        RateLimitHeaders = JsonSerializer.Deserialize<Dictionary<string, string>>(RateLimitHeaders) ?? [],
        FailureType = FailureTypeNames.Parse(FailureType),
        TruncationPattern = TruncationPattern,
        TruncationDetails = TruncationDetails,
        Confidence = ParseConfidence(DetectionConfidence),
        ErrorMessage = ErrorMessage,
        ErrorStack = ErrorStack,
        CostUsd = CostUsd,
        Simulated = Simulated,
        ApiAttempts = ApiAttemptsJson.Deserialize(ApiAttempts),
        Batch = Batch,
    };

    private static Confidence ParseConfidence(string wire) => wire switch
    {
        "low" => Confidence.Low,
        "medium" => Confidence.Medium,
        "high" => Confidence.High,
        _ => throw new InvalidOperationException($"Unknown detection_confidence '{wire}'."),
    };
}

/// <summary>A list row: the columns a table shows, without prompt and bodies. Times are UTC.</summary>
public sealed class FailedGenerationSummary
{
    internal const string Columns = """
        id, created_at AS createdat, created_by AS createdby, run_id AS runid, task_id AS taskid, model,
        max_tokens AS maxtokens, failure_type AS failuretype, stop_reason AS stopreason,
        truncation_pattern AS truncationpattern, truncation_details AS truncationdetails,
        detection_confidence AS detectionconfidence, input_tokens AS inputtokens, output_tokens AS outputtokens,
        http_status AS httpstatus, streamed, error_message AS errormessage, report_status AS reportstatus,
        raw_file_path AS rawfilepath, cost_usd AS costusd, simulated, request_id AS requestid
        """;

    public Guid Id { get; init; }
    public DateTime CreatedAt { get; init; }
    public Guid CreatedBy { get; init; }
    public Guid? RunId { get; init; }
    public Guid? TaskId { get; init; }
    public string Model { get; init; } = string.Empty;
    public int MaxTokens { get; init; }
    public string FailureType { get; init; } = string.Empty;
    public string? StopReason { get; init; }
    public string? TruncationPattern { get; init; }
    public string? TruncationDetails { get; init; }
    public string DetectionConfidence { get; init; } = string.Empty;
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public int HttpStatus { get; init; }
    public bool Streamed { get; init; }
    public string? ErrorMessage { get; init; }
    public string ReportStatus { get; init; } = Failures.ReportStatus.Pending;
    public string? RawFilePath { get; init; }
    public decimal? CostUsd { get; init; }
    public bool Simulated { get; init; }
    public string? RequestId { get; init; }
}

/// <summary>What <see cref="FailedGenerationStore.StoreAsync"/> did.</summary>
/// <param name="Id">The row's id (the existing row's when the task was already stored).</param>
/// <param name="Created">False when the task already had a row and nothing was written.</param>
/// <param name="ReportStatus">One of <see cref="Failures.ReportStatus"/>.</param>
/// <param name="RawFilePath">The blob path once uploaded.</param>
public sealed record StoredFailedGeneration(Guid Id, bool Created, string ReportStatus, string? RawFilePath);
