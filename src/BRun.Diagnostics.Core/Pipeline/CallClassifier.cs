using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Pipeline;

/// <summary>What a Claude call's result means for its task.</summary>
public enum CallDisposition
{
    /// <summary>An answer arrived: validate it (it may still be a content failure, which is never retried automatically).</summary>
    Response,

    /// <summary>The API or the network failed in a way that heals: the queue tries the task again later.</summary>
    Transient,

    /// <summary>An API error that another try will not fix (bad request, auth, permission, size, spend limit).</summary>
    Permanent,
}

/// <summary>A call's disposition and a short reason for people (stored with the call, shown in reports).</summary>
public sealed record CallVerdict(CallDisposition Disposition, string Reason);

/// <summary>
/// Sorts a captured call into response, transient or permanent, following the API's documented error classes:
/// 408, 409, 429, 5xx and 529, timeouts, refused or reset connections and a stream that failed before any content
/// are transient; other 4xx are permanent. <c>x-should-retry</c> overrides the status, as in the official SDKs.
/// </summary>
public static class CallClassifier
{
    public static string ToWire(this CallDisposition disposition) => disposition switch
    {
        CallDisposition.Response => "response",
        CallDisposition.Transient => "transient",
        CallDisposition.Permanent => "permanent",
        _ => throw new ArgumentOutOfRangeException(nameof(disposition), disposition, "Unknown call disposition."),
    };

    public static CallDisposition ParseDisposition(string wire) => wire switch
    {
        "response" => CallDisposition.Response,
        "transient" => CallDisposition.Transient,
        "permanent" => CallDisposition.Permanent,
        _ => throw new ArgumentOutOfRangeException(nameof(wire), wire, "Unknown call disposition."),
    };

    /// <param name="captured">The call.</param>
    /// <param name="previousWasBareRateLimit">
    /// The task's previous call was a 429 without <c>retry-after</c>. A rate limit always names its wait; a 429 that
    /// names none twice in a row is a spend limit, which no amount of waiting within the budget fixes.
    /// </param>
    public static CallVerdict Classify(CapturedResponse captured, bool previousWasBareRateLimit = false)
    {
        ArgumentNullException.ThrowIfNull(captured);
        var status = captured.HttpStatus;
        if (status == 0)
        {
            return new(CallDisposition.Transient, captured.Transport switch
            {
                TransportFailure.Timeout => "timeout: no response",
                TransportFailure.ConnectionFailed => "connection refused or reset before a response",
                _ => "no response",
            });
        }

        if (status is >= 200 and < 300)
        {
            // A stream (or a body) that broke before the model produced any text has nothing to judge: nothing was
            // generated that a retry would lose. Once text arrived, the cut is evidence and goes to validation.
            var parsed = captured.Parsed;
            var brokeEarly = parsed.StreamOutcome is StreamOutcome.ErrorEvent or StreamOutcome.CutBeforeMessageStop
                || captured.Transport != TransportFailure.None;
            if (brokeEarly && parsed.Text.Length == 0)
            {
                return new(CallDisposition.Transient, parsed.StreamOutcome == StreamOutcome.ErrorEvent
                    ? $"stream error before any content ({parsed.ErrorType ?? "error"})"
                    : "stream cut before any content");
            }

            return new(CallDisposition.Response, "answer received");
        }

        var headers = captured.RateLimitHeaders;
        if (headers.TryGetValue("x-should-retry", out var shouldRetry))
        {
            if (shouldRetry == "true")
            {
                return new(CallDisposition.Transient, $"HTTP {status}, x-should-retry: true");
            }

            if (shouldRetry == "false")
            {
                return new(CallDisposition.Permanent, $"HTTP {status}, x-should-retry: false");
            }
        }

        if (status == 429)
        {
            var namesWait = headers.ContainsKey("retry-after") || headers.ContainsKey("retry-after-ms");
            return namesWait || !previousWasBareRateLimit
                ? new(CallDisposition.Transient, namesWait ? "rate limited (429)" : "429 without retry-after")
                : new(CallDisposition.Permanent, "429 without retry-after twice in a row: spend limit");
        }

        return status switch
        {
            408 => new(CallDisposition.Transient, "request timeout (408)"),
            409 => new(CallDisposition.Transient, "conflict (409)"),
            529 => new(CallDisposition.Transient, "overloaded (529)"),
            >= 500 => new(CallDisposition.Transient, $"server error ({status})"),
            _ => new(CallDisposition.Permanent, $"HTTP {status} {captured.Parsed.ErrorType}".TrimEnd()),
        };
    }

    /// <summary>A 429 that named no wait (see <see cref="Classify"/>).</summary>
    public static bool IsBareRateLimit(int httpStatus, IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return httpStatus == 429 && !headers.ContainsKey("retry-after") && !headers.ContainsKey("retry-after-ms");
    }
}
