using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Validation;

/// <summary>What is known about how a response arrived, beyond its body.</summary>
/// <param name="HttpStatus">HTTP status, or null when unknown (a saved file) or when no response arrived.</param>
/// <param name="Transport">Why no response arrived, if so.</param>
/// <param name="TransportError">The transport exception's message.</param>
/// <param name="Streamed">Whether the body is an SSE transcript.</param>
/// <param name="MaxTokens">The max_tokens the request set, when known.</param>
public sealed record ResponseContext(
    int? HttpStatus,
    TransportFailure Transport = TransportFailure.None,
    string? TransportError = null,
    bool Streamed = false,
    int? MaxTokens = null)
{
    /// <summary>A saved body with no HTTP facts: status, transport and max_tokens unknown.</summary>
    public static ResponseContext SavedFile(bool streamed) => new(null, Streamed: streamed);

    public static ResponseContext From(CapturedResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new ResponseContext(
            response.Transport == TransportFailure.None ? response.HttpStatus : null,
            response.Transport,
            response.TransportError,
            response.Streamed,
            response.Request.MaxTokens);
    }
}
