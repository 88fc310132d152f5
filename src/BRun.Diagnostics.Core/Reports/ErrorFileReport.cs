using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace BRun.Diagnostics.Core.Reports;

/// <summary>
/// The RAW Error File Report: the plan's structure (error_report, request_context, raw_response,
/// extracted_content, scaffolding_context) plus a diagnostics section. Serialized in snake_case by
/// <see cref="ErrorReportBuilder.Serialize"/>.
/// </summary>
public sealed record ErrorFileReport(
    ErrorReportSection ErrorReport,
    ReportRequestContext RequestContext,
    JsonNode? RawResponse,
    string ExtractedContent,
    ReportScaffoldingContext ScaffoldingContext,
    ReportDiagnostics Diagnostics)
{
    /// <summary>Only for results of a message batch; online failures have no such section.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReportBatch? Batch { get; init; }
}

/// <summary>The batch a result came from, and what the batch called it; <c>Note</c> says plainly when the batch called a rejected result "succeeded".</summary>
public sealed record ReportBatch(string BatchId, string CustomId, string ResultType, string Note);

public sealed record ErrorReportSection(
    string FailureType,
    string? StopReason,
    string StopReasonAnalysis,
    string? TruncationPattern,
    string? TruncationDetails,
    string Timestamp,
    ReportTokenAnalysis Analysis);

/// <summary>Token figures. Null members were not reported by the API (the plan wrote 0, which reads as a fact).</summary>
public sealed record ReportTokenAnalysis(
    int? InputTokens,
    int? OutputTokens,
    int MaxTokensConfigured,
    int? TokensRemaining,
    string Conclusion);

/// <summary>The request as sent. A null temperature means none was sent (the API default applies).</summary>
public sealed record ReportRequestContext(
    string Model,
    decimal? Temperature,
    int MaxTokens,
    bool StructuredOutputsEnabled,
    int PromptLength);

public sealed record ReportScaffoldingContext(
    Guid? PersonaId,
    Guid? EmotionalArcId,
    Guid? TrainingTopicId,
    Guid? TemplateId);

/// <summary>Facts the plan's report lacked: transport, retries, rate limits and provenance.</summary>
public sealed record ReportDiagnostics(
    int ReportSchemaVersion,
    Guid FailureId,
    Guid? RunId,
    Guid? TaskId,
    Guid? ConversationId,
    string? RequestId,
    int HttpStatus,
    bool Streamed,
    string? StreamOutcome,
    string? TransportFailure,
    long? DurationMs,
    int Attempts,
    string DetectionConfidence,
    string? StopSequence,
    string? StopDetailsCategory,
    string? StopDetailsExplanation,
    int? CacheCreationInputTokens,
    int? CacheReadInputTokens,
    IReadOnlyDictionary<string, string> RateLimitHeaders,
    string? ErrorMessage,
    string? ErrorStack,
    decimal? CostUsd,
    bool Simulated,
    IReadOnlyList<Failures.ApiAttempt> ApiAttempts);
