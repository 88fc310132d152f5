using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>Sends one request to POST /v1/messages (with retries for transient faults) and captures what came back.</summary>
public interface IClaudeMessagesClient
{
    /// <summary>
    /// Never throws for HTTP errors, unreadable bodies or transport faults: the result says what happened.
    /// Throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    Task<CapturedResponse> SendAsync(ClaudeRequest request, CancellationToken cancellationToken);
}
