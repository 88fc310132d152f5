using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Failures;

/// <summary>Builds a <see cref="FailedGenerationInput"/> from a captured call and the validator's finding.</summary>
public static class FailedGenerationInputFactory
{
    /// <param name="captured">The call as captured by the Claude client.</param>
    /// <param name="failureType">The validator's verdict.</param>
    /// <param name="truncationPattern">The detected truncation pattern (e.g. <c>lone_backslash</c>), if any.</param>
    /// <param name="truncationDetails">A human-readable description of the finding.</param>
    /// <param name="confidence">How sure the finding is.</param>
    /// <param name="context">Run, task, conversation and scaffolding ids.</param>
    /// <param name="errorMessage">An error message; defaults to the API error or transport error when null.</param>
    /// <param name="errorStack">A stack trace when the failure was an exception in our code.</param>
    public static FailedGenerationInput FromCapture(
        CapturedResponse captured,
        FailureType failureType,
        string? truncationPattern,
        string? truncationDetails,
        Confidence confidence,
        FailureContext context,
        string? errorMessage = null,
        string? errorStack = null)
    {
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentNullException.ThrowIfNull(context);

        var parsed = captured.Parsed;
        var request = captured.Request;
        return new FailedGenerationInput
        {
            ConversationId = context.ConversationId,
            RunId = context.RunId,
            TaskId = context.TaskId,
            Scaffolding = context.Scaffolding,
            Prompt = request.Prompt,
            Model = request.Model,
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature,
            StructuredOutputsEnabled = request.StructuredOutputsEnabled,
            RawBody = captured.RawBody,
            ResponseContent = parsed.Text,
            StopReason = parsed.StopReason,
            StopSequence = parsed.StopSequence,
            StopDetailsCategory = parsed.StopDetailsCategory,
            StopDetailsExplanation = parsed.StopDetailsExplanation,
            InputTokens = parsed.Usage.InputTokens,
            OutputTokens = parsed.Usage.OutputTokens,
            CacheCreationInputTokens = parsed.Usage.CacheCreationInputTokens,
            CacheReadInputTokens = parsed.Usage.CacheReadInputTokens,
            RequestId = captured.RequestId ?? parsed.BodyRequestId,
            HttpStatus = captured.HttpStatus,
            DurationMs = (long)captured.Duration.TotalMilliseconds,
            Streamed = captured.Streamed,
            StreamOutcome = FailureWireNames.StreamOutcome(parsed.StreamOutcome),
            TransportFailure = FailureWireNames.Transport(captured.Transport),
            Attempts = captured.Attempts,
            RateLimitHeaders = captured.RateLimitHeaders,
            FailureType = failureType,
            TruncationPattern = truncationPattern,
            TruncationDetails = truncationDetails,
            Confidence = confidence,
            Simulated = captured.Simulated,
            ErrorMessage = errorMessage ?? DefaultErrorMessage(captured),
            ErrorStack = errorStack,
        };
    }

    private static string? DefaultErrorMessage(CapturedResponse captured)
    {
        var parsed = captured.Parsed;
        if (captured.Transport != Messages.TransportFailure.None)
        {
            return captured.TransportError is { } detail
                ? $"{FailureWireNames.Transport(captured.Transport)}: {detail}"
                : FailureWireNames.Transport(captured.Transport);
        }

        if (parsed.Kind == BodyKind.ApiError)
        {
            return parsed.ErrorMessage is { } message ? $"{parsed.ErrorType}: {message}" : parsed.ErrorType;
        }

        return parsed.ParseProblem;
    }
}

/// <summary>Stored names of the enums the Messages parsers use.</summary>
public static class FailureWireNames
{
    public static string? StreamOutcome(StreamOutcome outcome) => outcome switch
    {
        Messages.StreamOutcome.NotStreamed => null,
        Messages.StreamOutcome.Completed => "completed",
        Messages.StreamOutcome.CutBeforeMessageStop => "cut_before_message_stop",
        Messages.StreamOutcome.ErrorEvent => "error_event",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown stream outcome."),
    };

    public static string? Transport(TransportFailure failure) => failure switch
    {
        TransportFailure.None => null,
        TransportFailure.Timeout => "timeout",
        TransportFailure.ConnectionFailed => "connection_failed",
        TransportFailure.Canceled => "canceled",
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "Unknown transport failure."),
    };
}
