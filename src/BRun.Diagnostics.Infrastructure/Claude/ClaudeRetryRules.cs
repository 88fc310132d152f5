using System.Globalization;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// Which attempts are worth repeating and how long to wait, following the official SDKs: transport faults, 408,
/// 409, 429 and 5xx are transient; <c>x-should-retry</c> overrides; <c>retry-after(-ms)</c> wins over backoff.
/// Content failures (truncation, refusals) are never this layer's business.
/// </summary>
internal static class ClaudeRetryRules
{
    /// <param name="attempt">The attempt just finished.</param>
    /// <param name="attemptNumber">0 for the first attempt.</param>
    /// <param name="retryHttpErrors">
    /// Also retry answered HTTP errors (429, 5xx...) and timeouts in the client. Off in the pipeline, where the queue
    /// owns those retries (see <see cref="ClaudeOptions.RetryHttpErrors"/>): then only a connection that failed before
    /// any answer is retried here.
    /// </param>
    public static bool ShouldRetry(ClaudeAttempt attempt, int attemptNumber, bool retryHttpErrors = true)
    {
        if (!attempt.ResponseArrived)
        {
            return attempt.Transport == TransportFailure.ConnectionFailed
                || (retryHttpErrors && attempt.Transport == TransportFailure.Timeout);
        }

        if (!retryHttpErrors)
        {
            return false;
        }

        // Once a body has started arriving, a cut is a content failure worth recording, not a blind retry.
        if (attempt.Transport != TransportFailure.None)
        {
            return false;
        }

        switch (attempt.Header("x-should-retry"))
        {
            case "true":
                return true;
            case "false":
                return false;
        }

        return attempt.HttpStatus switch
        {
            // A 429 that names no wait and comes back after a retry is a spend limit: hammering it cannot help.
            429 => HasRetryAfter(attempt) || attemptNumber == 0,
            408 or 409 => true,
            >= 500 => true,
            _ => false,
        };
    }

    public static bool HasRetryAfter(ClaudeAttempt attempt) =>
        attempt.Header("retry-after-ms") is not null || attempt.Header("retry-after") is not null;

    /// <summary>The server's requested wait, when it names one within [0, <paramref name="max"/>].</summary>
    public static TimeSpan? RetryAfter(ClaudeAttempt attempt, TimeSpan max, DateTimeOffset now) =>
        RetryAfter(attempt.Headers, max, now);

    /// <summary>The wait named by <c>retry-after-ms</c> / <c>retry-after</c> in captured headers, within [0, <paramref name="max"/>].</summary>
    public static TimeSpan? RetryAfter(IReadOnlyDictionary<string, string> headers, TimeSpan max, DateTimeOffset now)
    {
        TimeSpan? wait = null;
        if (headers.GetValueOrDefault("retry-after-ms") is { } ms
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
        {
            wait = TimeSpan.FromMilliseconds(milliseconds);
        }
        else if (headers.GetValueOrDefault("retry-after") is { } after)
        {
            if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                wait = TimeSpan.FromSeconds(seconds);
            }
            else if (DateTimeOffset.TryParse(after, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                wait = at - now;
            }
        }

        return wait is { } value && value >= TimeSpan.Zero && value <= max ? value : null;
    }

    /// <summary>base × 2ⁿ capped at max, times a jitter in (0.75, 1.0].</summary>
    public static TimeSpan Backoff(int attemptNumber, TimeSpan baseDelay, TimeSpan maxDelay, double random)
    {
        var exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attemptNumber, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - (random * 0.25)));
    }
}
