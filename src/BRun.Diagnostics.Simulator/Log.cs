using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Simulator;

internal static partial class Log
{
    public const int ReplyId = 1;
    public const int StartedId = 2;
    public const int RateLimitedId = 7050;
    public const int DeliberateCutId = 7500;

    [LoggerMessage(EventId = ReplyId, Level = LogLevel.Information,
        Message = "Simulated {RequestId}: scenario {Scenario}, attempt {Attempt}, HTTP {Status}, stop_reason {StopReason}, output_tokens {OutputTokens} of max_tokens {MaxTokens}, stream {Stream}")]
    public static partial void Reply(
        ILogger logger, string requestId, SimulatorScenario scenario, int attempt, int status, string? stopReason, int outputTokens, int maxTokens, bool stream);

    [LoggerMessage(EventId = RateLimitedId, Level = LogLevel.Information,
        Message = "Simulated {RequestId}: 429, the organisation's {Limit} limit is exhausted; retry-after {RetryAfterSeconds} s")]
    public static partial void RateLimited(ILogger logger, string requestId, SimulatedLimit limit, int retryAfterSeconds);

    /// <summary>Instead of Kestrel's "Response Content-Length mismatch" error, which the cut causes on purpose.</summary>
    [LoggerMessage(EventId = DeliberateCutId, Level = LogLevel.Information,
        Message = "Simulated {RequestId}: connection cut on purpose (scenario stream_cut) after {SentBytes} of the {PromisedBytes} bytes promised in Content-Length; the client sees a cut stream, the simulator did not fail")]
    public static partial void DeliberateCut(ILogger logger, string requestId, long sentBytes, long promisedBytes);

    [LoggerMessage(EventId = StartedId, Level = LogLevel.Information, Message = "Claude simulator listening on {BaseUrl}")]
    public static partial void Started(ILogger logger, Uri baseUrl);
}
