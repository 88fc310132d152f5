namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// Told about the head of every HTTP answer from Claude (each retry included) as soon as it arrives, before the body.
/// Rate-limit pacing learns the organisation's limits from it and pauses every worker at the first 429, even one the
/// client then retries by itself.
/// </summary>
public interface IClaudeResponseHeadObserver
{
    /// <param name="model">The model the request named.</param>
    /// <param name="httpStatus">The answer's status.</param>
    /// <param name="headers">The rate-limit and retry headers kept by the client (names lower-cased).</param>
    /// <param name="cancellationToken">The call's token.</param>
    /// <remarks>Must not throw for its own failures: the call goes on regardless.</remarks>
    ValueTask OnResponseHeadAsync(string model, int httpStatus, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken);
}
