using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Telemetry;

/// <summary>
/// Wraps the Messages client with a span per call, following the OpenTelemetry GenAI conventions, and the GenAI client
/// metrics. The HTTP client's own span (and each retry's) nests inside it. Prompts and responses stay off the span
/// unless <see cref="TelemetryOptions.RecordContent"/> says otherwise.
/// </summary>
public sealed class InstrumentedClaudeMessagesClient(
    ClaudeMessagesClient inner,
    DiagnosticsMetrics metrics,
    IOptions<TelemetryOptions> telemetry,
    PriceTable? prices = null) : IClaudeMessagesClient
{
    private readonly PriceTable _prices = prices ?? PriceTable.CreateDefault();

    public async Task<CapturedResponse> SendAsync(ClaudeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var activity = DiagnosticsTelemetry.Source.StartActivity(ActivityKind.Client);
        var captured = await inner.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var snapshot = captured.Request;
        var parsed = captured.Parsed;
        var errorType = ErrorType(captured);

        if (activity is not null)
        {
            activity.DisplayName = $"{DiagnosticsTelemetry.GenAi.Chat} {snapshot.Model}";
            activity.SetTag(DiagnosticsTelemetry.GenAi.ProviderName, DiagnosticsTelemetry.GenAi.Anthropic);
            activity.SetTag(DiagnosticsTelemetry.GenAi.OperationName, DiagnosticsTelemetry.GenAi.Chat);
            activity.SetTag(DiagnosticsTelemetry.GenAi.RequestModel, snapshot.Model);
            activity.SetTag(DiagnosticsTelemetry.GenAi.RequestMaxTokens, snapshot.MaxTokens);
            if (snapshot.Temperature is { } temperature)
            {
                activity.SetTag(DiagnosticsTelemetry.GenAi.RequestTemperature, (double)temperature);
            }

            activity.SetTag(DiagnosticsTelemetry.GenAi.ResponseId, parsed.Id);
            activity.SetTag(DiagnosticsTelemetry.GenAi.ResponseModel, parsed.Model);
            if (parsed.StopReason is { } stopReason)
            {
                activity.SetTag(DiagnosticsTelemetry.GenAi.ResponseFinishReasons, new[] { stopReason });
            }

            // For Anthropic the conventions count every input token: uncached + cache read + cache creation.
            var usage = parsed.Usage;
            if (usage.InputTokens is not null || usage.CacheReadInputTokens is not null || usage.CacheCreationInputTokens is not null)
            {
                activity.SetTag(DiagnosticsTelemetry.GenAi.UsageInputTokens, usage.TotalInputTokens);
            }

            activity.SetTag(DiagnosticsTelemetry.GenAi.UsageOutputTokens, usage.OutputTokens);
            activity.SetTag(DiagnosticsTelemetry.GenAi.UsageCacheReadInputTokens, usage.CacheReadInputTokens);
            activity.SetTag(DiagnosticsTelemetry.GenAi.UsageCacheCreationInputTokens, usage.CacheCreationInputTokens);
            activity.SetTag("http.response.status_code", captured.HttpStatus == 0 ? null : captured.HttpStatus);
            activity.SetTag("brun.request_id", captured.RequestId);
            activity.SetTag("brun.attempts", captured.Attempts);
            activity.SetTag("brun.stream_outcome", parsed.StreamOutcome.ToString());
            if (telemetry.Value.RecordContent)
            {
                activity.SetTag(DiagnosticsTelemetry.GenAi.InputMessages, JsonSerializer.Serialize(new[] { new { role = "user", parts = new[] { new { type = "text", content = snapshot.Prompt } } } }));
                activity.SetTag(DiagnosticsTelemetry.GenAi.OutputMessages, JsonSerializer.Serialize(new[] { new { role = "assistant", parts = new[] { new { type = "text", content = parsed.Text } }, finish_reason = parsed.StopReason } }));
            }

            if (errorType is not null)
            {
                activity.SetTag(DiagnosticsTelemetry.GenAi.ErrorType, errorType);
                activity.SetStatus(ActivityStatusCode.Error, errorType);
            }
        }

        metrics.RecordCall(
            snapshot.Model,
            parsed.Model,
            parsed.Usage,
            captured.Duration,
            captured.HttpStatus,
            errorType,
            Math.Max(0, captured.Attempts - 1),
            _prices.Cost(snapshot.Model, parsed.Usage)?.Total);
        return captured;
    }

    /// <summary>The conventions' error.type: the API's error type, the HTTP status, the transport failure, or a cut stream.</summary>
    private static string? ErrorType(CapturedResponse captured) => captured switch
    {
        { HttpStatus: 0 } => captured.Transport.ToString().ToLowerInvariant(),
        { HttpStatus: >= 400 } => captured.Parsed.ErrorType ?? captured.HttpStatus.ToString(CultureInfo.InvariantCulture),
        { Parsed.StreamOutcome: StreamOutcome.ErrorEvent } => captured.Parsed.ErrorType ?? "stream_error_event",
        { Parsed.StreamOutcome: StreamOutcome.CutBeforeMessageStop, Streamed: true } => "stream_cut",
        _ => null,
    };
}
