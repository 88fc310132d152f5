namespace BRun.Diagnostics.Core.Messages;

/// <summary>What a Messages API body (or SSE transcript) turned out to be.</summary>
public enum BodyKind
{
    /// <summary>A <c>{"type":"message"}</c> object (or a stream that reassembled into one).</summary>
    Message,

    /// <summary>A <c>{"type":"error"}</c> body, or an <c>error</c> event inside a stream.</summary>
    ApiError,

    /// <summary>Zero bytes or only whitespace.</summary>
    Empty,

    /// <summary>Not JSON at all: an HTML proxy page, plain text, a torn body.</summary>
    NotJson,

    /// <summary>Valid JSON that is neither a message nor an error object.</summary>
    UnexpectedShape,
}

/// <summary>How a streamed response ended. Non-streamed responses use <see cref="NotStreamed"/>.</summary>
public enum StreamOutcome
{
    NotStreamed,

    /// <summary><c>message_stop</c> arrived.</summary>
    Completed,

    /// <summary>The transcript ended without <c>message_stop</c>.</summary>
    CutBeforeMessageStop,

    /// <summary>An <c>event: error</c> arrived inside a 200 stream.</summary>
    ErrorEvent,
}

/// <summary>Token usage as the API reports it. Null members were absent from the body.</summary>
public sealed record Usage(
    int? InputTokens,
    int? OutputTokens,
    int? CacheCreationInputTokens,
    int? CacheReadInputTokens)
{
    public static readonly Usage None = new(null, null, null, null);

    /// <summary>Total input as billed: input + cache creation + cache read.</summary>
    public int TotalInputTokens => (InputTokens ?? 0) + (CacheCreationInputTokens ?? 0) + (CacheReadInputTokens ?? 0);
}

/// <summary>
/// The facts extracted from one Messages API body or SSE transcript. Unknown stop reasons and
/// block types are kept verbatim; nothing here throws on bad input.
/// </summary>
public sealed record ParsedMessage
{
    public required BodyKind Kind { get; init; }
    public string? Id { get; init; }
    public string? Model { get; init; }

    /// <summary>The raw stop_reason string, including values this code does not know.</summary>
    public string? StopReason { get; init; }
    public string? StopSequence { get; init; }

    /// <summary><c>stop_details.category</c> / <c>explanation</c>, sent with refusals.</summary>
    public string? StopDetailsCategory { get; init; }
    public string? StopDetailsExplanation { get; init; }

    public Usage Usage { get; init; } = Usage.None;

    /// <summary>All <c>text</c> blocks concatenated in order; empty when there are none.</summary>
    public string Text { get; init; } = string.Empty;

    /// <summary>The <c>type</c> of each content block in order (text, tool_use, thinking...).</summary>
    public IReadOnlyList<string> ContentBlockTypes { get; init; } = [];

    /// <summary><c>error.type</c> for API errors (rate_limit_error, overloaded_error...).</summary>
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }

    /// <summary>The <c>request_id</c> field of an error body, when present.</summary>
    public string? BodyRequestId { get; init; }

    public StreamOutcome StreamOutcome { get; init; } = StreamOutcome.NotStreamed;

    /// <summary>Number of complete SSE events read (streams only), including ignored ones.</summary>
    public int EventCount { get; init; }

    /// <summary>Complete events with a type the Messages API does not define; ignored, as the event-stream rules ask.</summary>
    public int IgnoredEventCount { get; init; }

    /// <summary>The type of the last complete event (streams only).</summary>
    public string? LastEventName { get; init; }

    /// <summary>True when the last SSE event was torn mid-way and was dropped rather than half-parsed.</summary>
    public bool DroppedTornEvent { get; init; }

    /// <summary>The <c>event:</c> name of the torn event, when its name had arrived.</summary>
    public string? TornEventName { get; init; }

    /// <summary>The last event was complete JSON but the transcript lacks its final blank line (trimmed when saved).</summary>
    public bool EndedWithoutBlankLine { get; init; }

    /// <summary>Why the body could not be read as expected (NotJson, UnexpectedShape), with a position where known.</summary>
    public string? ParseProblem { get; init; }
}
