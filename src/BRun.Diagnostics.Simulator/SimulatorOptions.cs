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

    /// <summary>Answer 401 when <c>x-api-key</c> is missing, as the real API does. Default: false (demo mode sends none).</summary>
    public bool RequireApiKey { get; set; }

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
