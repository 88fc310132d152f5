using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Reports;

/// <summary>
/// Builds the RAW Error File Report. Deterministic: the same input, id and creation time give the same bytes,
/// so a report can be rebuilt from the stored row when the blob is missing.
/// </summary>
public static class ErrorReportBuilder
{
    /// <summary>Bumped when the report's structure changes.</summary>
    public const int SchemaVersion = 2;

    public static JsonSerializerOptions SerializerOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // The report is a file for people; keep <, > and non-ASCII readable. It is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static ErrorFileReport Build(FailedGenerationInput input, Guid failureId, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(input);

        var analysis = StopReasonAnalyzer.Analyze(new StopReasonFacts
        {
            StopReason = input.StopReason,
            InputTokens = input.InputTokens,
            OutputTokens = input.OutputTokens,
            MaxTokens = input.MaxTokens,
            HttpStatus = input.HttpStatus,
            Streamed = input.Streamed,
            StreamOutcome = input.StreamOutcome,
            TransportFailure = input.TransportFailure,
            DurationMs = input.DurationMs,
            StopSequence = input.StopSequence,
            StopDetailsCategory = input.StopDetailsCategory,
            StopDetailsExplanation = input.StopDetailsExplanation,
        });

        var scaffolding = input.Scaffolding;
        return new ErrorFileReport(
            new ErrorReportSection(
                input.FailureType.ToWire(),
                input.StopReason,
                analysis.Analysis,
                input.TruncationPattern,
                input.TruncationDetails,
                createdAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                new ReportTokenAnalysis(
                    input.InputTokens,
                    input.OutputTokens,
                    input.MaxTokens,
                    input.MaxTokens - input.OutputTokens,
                    analysis.Conclusion)),
            new ReportRequestContext(
                input.Model,
                NormalizeTemperature(input.Temperature),
                input.MaxTokens,
                input.StructuredOutputsEnabled,
                input.PromptLength),
            RawResponseJson.ToNode(input.RawBody),
            input.ResponseContent ?? string.Empty,
            new ReportScaffoldingContext(
                scaffolding.PersonaId,
                scaffolding.EmotionalArcId,
                scaffolding.TrainingTopicId,
                scaffolding.TemplateId),
            new ReportDiagnostics(
                SchemaVersion,
                failureId,
                input.RunId,
                input.TaskId,
                input.ConversationId,
                input.RequestId,
                input.HttpStatus,
                input.Streamed,
                input.StreamOutcome,
                input.TransportFailure,
                input.DurationMs,
                input.Attempts,
                input.Confidence.ToWire(),
                input.StopSequence,
                input.StopDetailsCategory,
                input.StopDetailsExplanation,
                input.CacheCreationInputTokens,
                input.CacheReadInputTokens,
                // Sorted so the bytes do not depend on where the headers came from (capture or jsonb).
                new SortedDictionary<string, string>(input.RateLimitHeaders.ToDictionary(), StringComparer.Ordinal),
                input.ErrorMessage,
                input.ErrorStack,
                NormalizeCost(input.CostUsd),
                input.Simulated,
                [.. input.ApiAttempts.Select(a => a with { CostUsd = NormalizeCost(a.CostUsd) })]))
        {
            Batch = input.Batch is { } batch ? new ReportBatch(batch.BatchId, batch.CustomId, batch.ResultType, BatchNote(batch, input.FailureType)) : null,
        };
    }

    private static string BatchNote(BatchProvenance batch, FailureType failureType) => batch.ResultType switch
    {
        "succeeded" => $"The Message Batches API reported this result as \"succeeded\"; validation rejected it as {failureType.ToWire()}.",
        "errored" => "The Message Batches API reported this request as \"errored\"; the error body is in raw_response.",
        BatchResultType.Missing => "The batch's results had no readable line for this request on its last delivery; raw_response is the unreadable line that named it (empty when none did).",
        _ => $"The Message Batches API reported this request as \"{batch.ResultType}\".",
    };

    // The column is numeric(3,2): it rounds to 2 places and reads 0.7 back as 0.70. Both are undone here so the
    // report rebuilt from the row has the same bytes as the one built at store time.
    private static decimal? NormalizeTemperature(decimal? temperature) =>
        temperature is { } value ? Math.Round(value, 2, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000m : null;

    // Costs are stored as numeric(14,6), which pads to 6 places; a computed cost may carry more. Both become the
    // shortest form of the value rounded to 6 places, so a rebuilt report has the same bytes.
    private static decimal? NormalizeCost(decimal? cost) =>
        cost is { } value ? Math.Round(value, 6, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000m : null;

    /// <summary>UTF-8, indented, snake_case.</summary>
    public static byte[] Serialize(ErrorFileReport report) => JsonSerializer.SerializeToUtf8Bytes(report, SerializerOptions);

    public static byte[] BuildBytes(FailedGenerationInput input, Guid failureId, DateTimeOffset createdAt) =>
        Serialize(Build(input, failureId, createdAt));
}
