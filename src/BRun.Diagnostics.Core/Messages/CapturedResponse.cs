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

    /// <summary>The answer came from the built-in simulator (response header <c>x-brun-simulated: true</c>), not Claude.</summary>
    public bool Simulated { get; init; }
}

/// <summary>Turns a received body into parsed facts; shared by the client and the replay of a stored capture.</summary>
public static class CapturedBody
{
    /// <summary>The name of the response header the simulator sets on every answer.</summary>
    public const string SimulatedHeader = "x-brun-simulated";

    /// <summary>A body is a stream when it was served as one, or reads like one (a proxy may drop the media type).</summary>
    public static bool IsStream(string? mediaType, string rawBody) =>
        string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase) || SseTranscriptParser.LooksLikeSse(rawBody);

    /// <param name="httpStatus">0 when no response arrived.</param>
    /// <param name="rawBody">The body as received.</param>
    /// <param name="streamed">Whether the body is an SSE transcript (see <see cref="IsStream"/>).</param>
    /// <param name="transportError">Why no response arrived, when none did.</param>
    public static ParsedMessage Parse(int httpStatus, string rawBody, bool streamed, string? transportError)
    {
        ArgumentNullException.ThrowIfNull(rawBody);
        if (httpStatus == 0)
        {
            return new ParsedMessage { Kind = BodyKind.Empty, ParseProblem = $"No HTTP response: {transportError}" };
        }

        return streamed ? SseTranscriptParser.Parse(rawBody) : MessageBodyParser.Parse(rawBody);
    }
}

/// <summary>The request parameters that matter for diagnosis. The prompt is kept for the report, never logged.</summary>
public sealed record RequestSnapshot(
    string Model,
    int MaxTokens,
    decimal? Temperature,
    bool StructuredOutputsEnabled,
    bool Stream,
    string Prompt);
