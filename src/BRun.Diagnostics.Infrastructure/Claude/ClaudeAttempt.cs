using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>What one HTTP attempt produced, before it becomes a <see cref="CapturedResponse"/>.</summary>
internal sealed record ClaudeAttempt
{
    /// <summary>0 when no response head arrived.</summary>
    public required int HttpStatus { get; init; }

    public required string RawBody { get; init; }

    /// <summary>The response media type (text/event-stream, application/json, text/html...), when one was sent.</summary>
    public string? MediaType { get; init; }

    public string? RequestId { get; init; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public TransportFailure Transport { get; init; } = TransportFailure.None;

    public string? TransportError { get; init; }

    public TimeSpan Duration { get; init; }

    public bool ResponseArrived => HttpStatus != 0;

    /// <summary>The response carried <c>x-brun-simulated: true</c>.</summary>
    public bool Simulated { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
