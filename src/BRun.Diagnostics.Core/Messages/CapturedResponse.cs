namespace BRun.Diagnostics.Core.Messages;

/// <summary>Why a call produced no HTTP response at all.</summary>
public enum TransportFailure
{
    None,
    Timeout,
    ConnectionFailed,
    Canceled,
}

/// <summary>
/// Everything kept from one Claude call, streaming or not: what was sent (the parameters that matter for
/// diagnosis), what came back byte-exact, and the parsed facts. This is the unit the validator judges
/// and the failure store records.
/// </summary>
public sealed record CapturedResponse
{
    /// <summary>HTTP status of the final attempt; 0 when no response arrived (see <see cref="Transport"/>).</summary>
    public required int HttpStatus { get; init; }

    /// <summary>The exact response body. For streams, the full SSE transcript as received.</summary>
    public required string RawBody { get; init; }

    public required bool Streamed { get; init; }

    public required ParsedMessage Parsed { get; init; }

    /// <summary>The <c>request-id</c> response header.</summary>
    public string? RequestId { get; init; }

    /// <summary><c>anthropic-ratelimit-*</c>, <c>retry-after</c> and similar headers, names lower-cased.</summary>
    public IReadOnlyDictionary<string, string> RateLimitHeaders { get; init; } = new Dictionary<string, string>();

    public TimeSpan Duration { get; init; }

    /// <summary>How many HTTP attempts were made (1 when the first one was final).</summary>
    public int Attempts { get; init; } = 1;

    public TransportFailure Transport { get; init; } = TransportFailure.None;

    /// <summary>The exception message of a transport failure (never contains the API key).</summary>
    public string? TransportError { get; init; }

    /// <summary>The parameters of the request as sent.</summary>
    public required RequestSnapshot Request { get; init; }
}

/// <summary>The request parameters that matter for diagnosis. The prompt is kept for the report, never logged.</summary>
public sealed record RequestSnapshot(
    string Model,
    int MaxTokens,
    decimal? Temperature,
    bool StructuredOutputsEnabled,
    bool Stream,
    string Prompt);
