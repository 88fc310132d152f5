using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// How the fake Claude behaves, bound from the <c>Simulator</c> section. Rates are relative weights (they are
/// normalised, so they need not add up to 1); a prompt's scenario is a pure function of <see cref="Seed"/> and the
/// prompt (see <see cref="SimulatorScenarioPicker"/>).
/// </summary>
public sealed class SimulatorOptions : IValidatableObject
{
    public const string SectionName = "Simulator";

    /// <summary>Mixed into every scenario and content choice; change it to get another deterministic run. Default: 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Complete conversation, <c>end_turn</c>. Default: 0.70.</summary>
    [Range(0.0, 1.0)]
    public double CompleteRate { get; set; } = 0.70;

    /// <summary>Cut at the requested max_tokens, <c>max_tokens</c>. Default: 0.08.</summary>
    [Range(0.0, 1.0)]
    public double MaxTokensRate { get; set; } = 0.08;

    /// <summary>
    /// The real-world mystery: <c>end_turn</c> at about <see cref="EndTurnCutTokens"/> output tokens, the text
    /// ending in a lone <c>\</c> or mid-word. Default: 0.08.
    /// </summary>
    [Range(0.0, 1.0)]
    public double EndTurnCutRate { get; set; } = 0.08;

    /// <summary>The connection is closed before <c>message_stop</c> (picked only for streamed requests). Default: 0.04.</summary>
    [Range(0.0, 1.0)]
    public double StreamCutRate { get; set; } = 0.04;

    /// <summary><c>refusal</c> with <c>stop_details</c> after a few tokens. Default: 0.03.</summary>
    [Range(0.0, 1.0)]
    public double RefusalRate { get; set; } = 0.03;

    /// <summary>429 with <c>retry-after</c> for the first <see cref="TransientFailures"/> attempts, then success. Default: 0.04.</summary>
    [Range(0.0, 1.0)]
    public double RateLimitedRate { get; set; } = 0.04;

    /// <summary>529 <c>overloaded_error</c> for the first <see cref="TransientFailures"/> attempts, then success. Default: 0.03.</summary>
    [Range(0.0, 1.0)]
    public double OverloadedRate { get; set; } = 0.03;

    /// <summary>429 with <c>retry-after</c> on every attempt. Default: 0 (reach it with <c>[simulate:rate_limited_persistent]</c>).</summary>
    [Range(0.0, 1.0)]
    public double RateLimitedPersistentRate { get; set; }

    /// <summary>An <c>event: error</c> (overloaded) inside a 200 stream. Default: 0 (<c>[simulate:stream_error]</c>).</summary>
    [Range(0.0, 1.0)]
    public double StreamErrorRate { get; set; }

    /// <summary>A proxy's HTML 502 page on every attempt. Default: 0 (<c>[simulate:bad_gateway_html]</c>).</summary>
    [Range(0.0, 1.0)]
    public double BadGatewayHtmlRate { get; set; }

    /// <summary>How many attempts of a transient scenario fail before the same prompt succeeds. Default: 1.</summary>
    [Range(0, 100)]
    public int TransientFailures { get; set; } = 1;

    /// <summary>The <c>retry-after</c> seconds sent with 429s. Default: 1.</summary>
    [Range(0, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Where the end_turn cut falls, in output tokens (about 4 characters each). Default: 1000.</summary>
    [Range(1, 1_000_000)]
    public int EndTurnCutTokens { get; set; } = 1000;

    /// <summary>Shortest time to produce a whole response, spread over the SSE events. Default: 2 s (use 0 in tests).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MinLatency { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest time to produce a whole response. Default: 4 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long a message batch takes from creation to <c>ended</c>; its requests finish evenly over that time, so
    /// request_counts move while it runs. Default: 20 s (use 0 in tests; the real API takes minutes to 24 h).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan BatchProcessingTime { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A pause after each line of a results download, so a test can kill its reader half-way through. Default: 0.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan BatchResultsLineDelay { get; set; }

    /// <summary>
    /// Batch requests that come back <c>expired</c> for the first <see cref="TransientFailures"/> submissions of their
    /// prompt (then answered as usual). Default: 0.02 (<c>[simulate:batch_expired]</c> forces it).
    /// </summary>
    [Range(0.0, 1.0)]
    public double BatchExpiredRate { get; set; } = 0.02;

    /// <summary>
    /// Batch requests that come back <c>errored</c> with a permanent <c>invalid_request_error</c>, every time.
    /// Default: 0.01 (<c>[simulate:batch_invalid_request]</c> forces it).
    /// </summary>
    [Range(0.0, 1.0)]
    public double BatchInvalidRequestRate { get; set; } = 0.01;

    /// <summary>
    /// The organisation's requests per minute (per <see cref="RateLimitWindow"/>), enforced as a token bucket refilled
    /// continuously; over it the answer is 429 <c>rate_limit_error</c> with <c>retry-after</c>. Default: 0 (not enforced,
    /// and its <c>anthropic-ratelimit-requests-*</c> headers are not sent).
    /// </summary>
    [Range(0, 10_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Input tokens per minute, counted when the request arrives. Default: 0 (not enforced).</summary>
    [Range(0, 1_000_000_000)]
    public int InputTokensPerMinute { get; set; }

    /// <summary>
    /// Output tokens per minute. As the real API documents it, a request reserves its max_tokens when it arrives and the
    /// reservation becomes the real count when the answer ends. Default: 0 (not enforced).
    /// </summary>
    [Range(0, 1_000_000_000)]
    public int OutputTokensPerMinute { get; set; }

    /// <summary>
    /// The period the per-minute limits refill over. Default: 1 minute, as the real API; tests shrink it (with the
    /// pacer's <c>RateLimits:Window</c>) so a run much larger than the limits finishes in seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Generation speed. Above 0, an answer takes <see cref="MinLatency"/> plus its output tokens divided by this
    /// (instead of a draw between MinLatency and MaxLatency), so big answers are slow as they are for real.
    /// Default: 0 (off).
    /// </summary>
    [Range(0.0, 1_000_000.0)]
    public double OutputTokensPerSecond { get; set; }

    /// <summary>
    /// Fewest prefix tokens (characters / 4) that are cached when a request marks a <c>cache_control</c> breakpoint; a
    /// shorter prefix is processed without caching, as on the API (1,024 for Sonnet and Opus). Default: 1024.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MinCacheableTokens { get; set; } = 1024;

    /// <summary>How long a cached prefix lives after its last use (the API's ephemeral cache: 5 minutes). Default: 5 min.</summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Answer 401 when <c>x-api-key</c> is missing, as the real API does. Default: false (demo mode sends none).</summary>
    public bool RequireApiKey { get; set; }

    /// <summary>
    /// Keep every request body received (messages and count_tokens) in memory, readable from
    /// <see cref="ClaudeSimulatorServer.ReceivedRequests"/>, so a test can check what was really sent. Default: false
    /// (a long demo would otherwise grow without bound).
    /// </summary>
    public bool RecordRequestBodies { get; set; }

    /// <summary>Where the hosted simulator listens (see <c>AddClaudeSimulator</c>). Default: <c>http://127.0.0.1:5099</c>.</summary>
    [Required]
    public string ListenUrl { get; set; } = "http://127.0.0.1:5099";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SimulatorScenarioPicker.TotalWeight(this, stream: true) <= 0)
        {
            yield return new ValidationResult("At least one scenario rate must be above 0.", [nameof(CompleteRate)]);
        }

        if (MinLatency > MaxLatency)
        {
            yield return new ValidationResult("MinLatency must not exceed MaxLatency.", [nameof(MinLatency), nameof(MaxLatency)]);
        }
    }
}
