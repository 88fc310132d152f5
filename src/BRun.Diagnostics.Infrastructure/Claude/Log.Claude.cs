using BRun.Diagnostics.Core.Messages;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure;

// The Claude client's part of the project's Log class. Its EventIds use the 3000-3099 range.
internal static partial class Log
{
    public const int ClaudeResponseId = 3000;
    public const int ClaudeResponseCutId = 3001;
    public const int ClaudeRetryingId = 3002;
    public const int ClaudeNoResponseId = 3003;

    [LoggerMessage(EventId = ClaudeResponseId, Level = LogLevel.Information,
        Message = "Claude response {RequestId}: HTTP {Status}, stop_reason {StopReason}, output_tokens {OutputTokens}, max_tokens {MaxTokens}, attempts {Attempts}, took {Duration}")]
    public static partial void ClaudeResponse(
        ILogger logger, string? requestId, int status, string? stopReason, int? outputTokens, int maxTokens, int attempts, TimeSpan duration);

    [LoggerMessage(EventId = ClaudeResponseCutId, Level = LogLevel.Warning,
        Message = "Claude response {RequestId} is cut: stop_reason {StopReason}, stream {StreamOutcome}, output_tokens {OutputTokens} of max_tokens {MaxTokens}")]
    public static partial void ClaudeResponseCut(
        ILogger logger, string? requestId, string? stopReason, StreamOutcome streamOutcome, int? outputTokens, int maxTokens);

    [LoggerMessage(EventId = ClaudeRetryingId, Level = LogLevel.Warning,
        Message = "Claude attempt {Attempt} failed transiently (HTTP {Status}, transport {Transport}, request {RequestId}); retrying in {Delay}")]
    public static partial void ClaudeRetrying(
        ILogger logger, int attempt, int status, TransportFailure transport, string? requestId, TimeSpan delay);

    [LoggerMessage(EventId = ClaudeNoResponseId, Level = LogLevel.Warning,
        Message = "Claude call got no HTTP response after {Attempts} attempts: {Transport}, {Error}")]
    public static partial void ClaudeNoResponse(ILogger logger, TransportFailure transport, int attempts, string? error);
}
