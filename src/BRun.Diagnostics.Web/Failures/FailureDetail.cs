using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// One failure as JSON for <c>GET /api/failed-generations/{id}</c>: the list's fields plus the capture facts. The
/// prompt and the raw body are in the RAW report (<c>report_url</c>), not here.
/// </summary>
public sealed record FailureDetail(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("failure_type")] string FailureType,
    [property: JsonPropertyName("stop_reason")] string? StopReason,
    [property: JsonPropertyName("stop_sequence")] string? StopSequence,
    [property: JsonPropertyName("stop_details_category")] string? StopDetailsCategory,
    [property: JsonPropertyName("stop_details_explanation")] string? StopDetailsExplanation,
    [property: JsonPropertyName("truncation_pattern")] string? TruncationPattern,
    [property: JsonPropertyName("truncation_details")] string? TruncationDetails,
    [property: JsonPropertyName("detection_confidence")] string DetectionConfidence,
    [property: JsonPropertyName("error_message")] string? ErrorMessage,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("prompt_length")] int PromptLength,
    [property: JsonPropertyName("input_tokens")] int? InputTokens,
    [property: JsonPropertyName("output_tokens")] int? OutputTokens,
    [property: JsonPropertyName("cache_creation_input_tokens")] int? CacheCreationInputTokens,
    [property: JsonPropertyName("cache_read_input_tokens")] int? CacheReadInputTokens,
    [property: JsonPropertyName("request_id")] string? RequestId,
    [property: JsonPropertyName("http_status")] int HttpStatus,
    [property: JsonPropertyName("duration_ms")] long? DurationMs,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("streamed")] bool Streamed,
    [property: JsonPropertyName("stream_outcome")] string? StreamOutcome,
    [property: JsonPropertyName("transport_failure")] string? TransportFailure,
    [property: JsonPropertyName("run_id")] Guid? RunId,
    [property: JsonPropertyName("task_id")] Guid? TaskId,
    [property: JsonPropertyName("report_status")] string ReportStatus,
    [property: JsonPropertyName("report_url")] string ReportUrl,
    [property: JsonPropertyName("batch_id")] string? BatchId,
    [property: JsonPropertyName("batch_custom_id")] string? BatchCustomId,
    [property: JsonPropertyName("batch_result_type")] string? BatchResultType)
{
    public static FailureDetail From(FailedGeneration row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.Id, new DateTimeOffset(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc)), row.FailureType, row.StopReason,
            row.StopSequence, row.StopDetailsCategory, row.StopDetailsExplanation, row.TruncationPattern, row.TruncationDetails,
            row.DetectionConfidence, row.ErrorMessage, row.Model, row.MaxTokens, row.Temperature, row.PromptLength, row.InputTokens,
            row.OutputTokens, row.CacheCreationInputTokens, row.CacheReadInputTokens, row.RequestId, row.HttpStatus, row.DurationMs,
            row.Attempts, row.Streamed, row.StreamOutcome, row.TransportFailure, row.RunId, row.TaskId, row.ReportStatus,
            FailedGenerationFiles.ReportUrl(row.Id), row.BatchId, row.BatchCustomId, row.BatchResultType);
    }
}
