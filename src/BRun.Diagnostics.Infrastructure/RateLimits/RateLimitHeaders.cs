using System.Globalization;

namespace BRun.Diagnostics.Infrastructure.RateLimits;

/// <summary>One limit as an answer's <c>anthropic-ratelimit-{name}-*</c> headers describe it.</summary>
/// <param name="Limit">Per minute, when the header was present.</param>
/// <param name="Reset">When the API's bucket is full again, when the header was present.</param>
public readonly record struct AnnouncedLimit(int? Limit, DateTimeOffset? Reset);

/// <summary>What one answer's headers say about the organisation's limits.</summary>
public sealed record RateLimitHeaders(AnnouncedLimit Requests, AnnouncedLimit InputTokens, AnnouncedLimit OutputTokens, TimeSpan? RetryAfter)
{
    /// <summary>Reads headers kept by the client (names lower-cased). Unreadable values count as absent.</summary>
    public static RateLimitHeaders Parse(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return new RateLimitHeaders(Read(headers, "requests"), Read(headers, "input-tokens"), Read(headers, "output-tokens"), ReadRetryAfter(headers));
    }

    public bool AnnouncesAny => Requests.Limit is not null || InputTokens.Limit is not null || OutputTokens.Limit is not null;

    private static AnnouncedLimit Read(IReadOnlyDictionary<string, string> headers, string name)
    {
        int? limit = headers.TryGetValue($"anthropic-ratelimit-{name}-limit", out var l)
            && int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : null;
        DateTimeOffset? reset = headers.TryGetValue($"anthropic-ratelimit-{name}-reset", out var r)
            && DateTimeOffset.TryParse(r, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        return new AnnouncedLimit(limit, reset);
    }

    private static TimeSpan? ReadRetryAfter(IReadOnlyDictionary<string, string> headers)
    {
        if (headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        return headers.TryGetValue("retry-after", out var s)
            && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }
}
