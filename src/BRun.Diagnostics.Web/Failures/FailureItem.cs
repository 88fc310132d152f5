using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>One failure in the HTTP API's list and in JSONL exports (snake_case, UTC times).</summary>
public sealed record FailureItem(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("failure_type")] string FailureType,
    [property: JsonPropertyName("stop_reason")] string? StopReason,
    [property: JsonPropertyName("truncation_pattern")] string? TruncationPattern,
    [property: JsonPropertyName("truncation_details")] string? TruncationDetails,
    [property: JsonPropertyName("detection_confidence")] string DetectionConfidence,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("input_tokens")] int? InputTokens,
    [property: JsonPropertyName("output_tokens")] int? OutputTokens,
    [property: JsonPropertyName("http_status")] int HttpStatus,
    [property: JsonPropertyName("streamed")] bool Streamed,
    [property: JsonPropertyName("run_id")] Guid? RunId,
    [property: JsonPropertyName("task_id")] Guid? TaskId,
    [property: JsonPropertyName("error_message")] string? ErrorMessage,
    [property: JsonPropertyName("report_status")] string ReportStatus,
    [property: JsonPropertyName("report_url")] string ReportUrl)
{
    public static FailureItem From(FailedGenerationSummary row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.Id, new DateTimeOffset(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc)), row.FailureType, row.StopReason,
            row.TruncationPattern, row.TruncationDetails, row.DetectionConfidence, row.Model, row.MaxTokens, row.InputTokens,
            row.OutputTokens, row.HttpStatus, row.Streamed, row.RunId, row.TaskId, row.ErrorMessage, row.ReportStatus,
            FailedGenerationFiles.ReportUrl(row.Id));
    }
}

/// <summary>
/// The list response: <c>{ "items": [...], "total": N, "page": P, "limit": L, "next_cursor": "..." }</c>. <c>page</c>
/// is null for a page read after a cursor; <c>next_cursor</c> is null when the page was not full (nothing follows).
/// </summary>
public sealed record FailureListResponse(
    [property: JsonPropertyName("items")] IReadOnlyList<FailureItem> Items,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("page")] int? Page,
    [property: JsonPropertyName("limit")] int Limit,
    [property: JsonPropertyName("next_cursor")] string? NextCursor);
