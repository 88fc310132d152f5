using System.Text.Json;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// What the report dialog shows about one failure: the row's facts, and the analysis read from its RAW report
/// (<c>error_report.stop_reason_analysis</c> and <c>error_report.analysis.conclusion</c>).
/// </summary>
public sealed record FailureReportView
{
    public required Guid Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string FailureType { get; init; }
    public string? TruncationPattern { get; init; }
    public string? TruncationDetails { get; init; }
    public required string DetectionConfidence { get; init; }
    public required string Model { get; init; }
    public Guid? RunId { get; init; }
    public Guid? TaskId { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public required int MaxTokens { get; init; }
    public string? StopReason { get; init; }
    public required string StopReasonAnalysis { get; init; }
    public required string Conclusion { get; init; }
    public string? ErrorMessage { get; init; }
    public required int HttpStatus { get; init; }
    public string? RequestId { get; init; }
    public bool Streamed { get; init; }
    public string? StreamOutcome { get; init; }
    public string? TransportFailure { get; init; }
    public int Attempts { get; init; }
    public long? DurationMs { get; init; }
    public required ContentTail ContentTail { get; init; }

    /// <summary>Answered by the built-in simulator, not Claude.</summary>
    public bool Simulated { get; init; }

    /// <summary>What every call of the task cost, USD; null when the model has no price.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>The Message Batch the result came from (batch mode), with its custom_id and what the batch called it; null online.</summary>
    public BRun.Diagnostics.Core.Failures.BatchProvenance? Batch { get; init; }

    /// <summary>Every Claude call of the task, oldest first.</summary>
    public IReadOnlyList<BRun.Diagnostics.Core.Failures.ApiAttempt> ApiAttempts { get; init; } = [];
    public required string ReportFileName { get; init; }

    /// <summary>The RAW report text (for Copy).</summary>
    public required string ReportJson { get; init; }

    /// <summary>False when the report was rebuilt from the row (blob not uploaded yet or missing).</summary>
    public bool ReportFromStorage { get; init; }

    public int? TokensRemaining => OutputTokens is { } output ? MaxTokens - output : null;

    public double? Utilisation => OutputTokens is { } output && MaxTokens > 0 ? (double)output / MaxTokens : null;

    public static FailureReportView From(FailedGeneration row, FailureReportFile report)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(report);
        var json = System.Text.Encoding.UTF8.GetString(report.Content);
        var (analysis, conclusion) = ReadAnalysis(json);
        return new FailureReportView
        {
            Id = row.Id,
            CreatedAt = row.CreatedAtOffset,
            FailureType = row.FailureType,
            TruncationPattern = row.TruncationPattern,
            TruncationDetails = row.TruncationDetails,
            DetectionConfidence = row.DetectionConfidence,
            Model = row.Model,
            RunId = row.RunId,
            TaskId = row.TaskId,
            InputTokens = row.InputTokens,
            OutputTokens = row.OutputTokens,
            MaxTokens = row.MaxTokens,
            StopReason = row.StopReason,
            StopReasonAnalysis = analysis,
            Conclusion = conclusion,
            ErrorMessage = row.ErrorMessage,
            HttpStatus = row.HttpStatus,
            RequestId = row.RequestId,
            Streamed = row.Streamed,
            StreamOutcome = row.StreamOutcome,
            TransportFailure = row.TransportFailure,
            Attempts = row.Attempts,
            DurationMs = row.DurationMs,
            ContentTail = ContentTail.Of(row.ResponseContent),
            Simulated = row.Simulated,
            CostUsd = row.CostUsd,
            ApiAttempts = row.ApiAttemptList,
            Batch = row.Batch,
            ReportFileName = FailedGenerationFiles.ReportFileName(row.Id),
            ReportJson = json,
            ReportFromStorage = report.FromStorage,
        };
    }

    private static (string Analysis, string Conclusion) ReadAnalysis(string json)
    {
        const string missing = "(not in the report)";
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("error_report", out var section))
            {
                return (missing, missing);
            }

            var analysis = section.TryGetProperty("stop_reason_analysis", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : missing;
            var conclusion = section.TryGetProperty("analysis", out var t) && t.TryGetProperty("conclusion", out var c) && c.ValueKind == JsonValueKind.String
                ? c.GetString()!
                : missing;
            return (analysis, conclusion);
        }
        catch (JsonException)
        {
            return ("(the report is not valid JSON)", missing);
        }
    }
}

/// <summary>File names the dashboard hands out.</summary>
public static class FailedGenerationFiles
{
    public static string ReportFileName(Guid id) => FailedGenerationReader.ReportFileName(id);

    public static string ReportUrl(Guid id) => $"/api/failed-generations/{id:D}/report";
}
