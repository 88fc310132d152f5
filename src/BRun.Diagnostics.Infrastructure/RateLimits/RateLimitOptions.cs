using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.RateLimits;

/// <summary>What a call reserves against the output-tokens-per-minute limit when it is dispatched.</summary>
public enum OutputReservation
{
    /// <summary>
    /// Its max_tokens, given back down to the real count when the answer ends. This is how the Messages API itself
    /// counts (its rate-limit docs: "OTPM rate limits are estimated based on max_tokens at the beginning of each
    /// request, and the estimate is adjusted at the end"), so pacing with it never runs ahead of the API.
    /// </summary>
    MaxTokens,

    /// <summary>
    /// A moving average of the real output tokens (max_tokens / 4 until there is one), corrected at the end. Packs
    /// more calls in flight, for a gateway that counts output only as it is produced; against the real API it draws
    /// 429s whenever the API's own max_tokens reservations do not fit.
    /// </summary>
    Estimate,
}

/// <summary>
/// Pacing of Claude calls against the organisation's rate limits, shared by every worker through Postgres
/// (configuration section <c>RateLimits</c>).
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Pace calls before they are sent. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Names the organisation whose limits the workers share; workers with the same name and model pace together.
    /// Default: derived from the API key (a hash of it, never the key), so every worker using one key shares.
    /// </summary>
    [MaxLength(200)]
    public string? Organization { get; set; }

    /// <summary>How far below each limit to run, as a fraction. Default: 0.05 (pace at 95 % of the limit).</summary>
    [Range(0.0, 0.5)]
    public double Margin { get; set; } = 0.05;

    /// <summary>Requests per minute to pace against instead of what the API's headers say. Default: none (learn it).</summary>
    [Range(1, 100_000_000)]
    public int? RequestsPerMinute { get; set; }

    /// <summary>Input tokens per minute to pace against instead of the headers'. Default: none (learn it).</summary>
    [Range(1, 1_000_000_000)]
    public int? InputTokensPerMinute { get; set; }

    /// <summary>Output tokens per minute to pace against instead of the headers'. Default: none (learn it).</summary>
    [Range(1, 1_000_000_000)]
    public int? OutputTokensPerMinute { get; set; }

    /// <summary>The period the limits refill over. Default: 1 minute, as the API; tests shrink it with the simulator's.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>What a call reserves against the output limit. Default: <see cref="OutputReservation.MaxTokens"/>.</summary>
    public OutputReservation OutputReservation { get; set; } = OutputReservation.MaxTokens;

    /// <summary>
    /// Tasks a worker process claims ahead while they wait for room under the limits; more stay in the queue for
    /// whichever worker has room first. Default: 4.
    /// </summary>
    [Range(1, 1024)]
    public int MaxWaitingPerWorker { get; set; } = 4;

    /// <summary>Longest sleep between two looks at the shared state while waiting (finished calls give room back). Default: 250 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.005", "00:01:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the organisation pauses after a 429 that names no <c>retry-after</c>. Default: 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DefaultBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Characters per input token when estimating a prompt before it is sent (low, so the estimate is high). Default: 3.</summary>
    [Range(1.0, 10.0)]
    public double CharsPerInputToken { get; set; } = 3.0;
}
