using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// Settings of the Claude Messages client, bound from the <c>Claude</c> configuration section. The API key and base
/// URL fall back to <c>ANTHROPIC_API_KEY</c> and <c>ANTHROPIC_BASE_URL</c>, as the official SDKs do.
/// </summary>
public sealed class ClaudeOptions
{
    public const string SectionName = "Claude";

    /// <summary>Sent as <c>x-api-key</c>. Default: the <c>ANTHROPIC_API_KEY</c> variable; none when that is unset too.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Where <c>/v1/messages</c> lives. Default: <c>ANTHROPIC_BASE_URL</c>, else <c>https://api.anthropic.com</c>.</summary>
    [Required]
    [Url]
    public string BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>Model id sent when a request does not override it. Default: <c>claude-sonnet-4-5</c>.</summary>
    [Required]
    public string Model { get; set; } = "claude-sonnet-4-5";

    /// <summary><c>max_tokens</c> sent when a request does not override it. Default: 4096.</summary>
    [Range(1, 1_000_000)]
    public int MaxTokens { get; set; } = 4096;

    /// <summary><c>temperature</c> sent when a request does not override it. Default: 0.7.</summary>
    [Range(typeof(decimal), "0", "1", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public decimal Temperature { get; set; } = 0.7m;

    /// <summary>Time allowed for one attempt, from sending to the last byte of the body. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Ask for an SSE stream (<c>stream: true</c>). Default: true.</summary>
    public bool Stream { get; set; } = true;

    /// <summary>Send <c>output_config</c> with the conversation JSON schema. Default: true.</summary>
    public bool StructuredOutputs { get; set; } = true;

    /// <summary>
    /// In-client retries. With <see cref="RetryHttpErrors"/> off (the default) they cover only a connection that failed
    /// before any answer (refused, reset, DNS): nothing reached the model, nothing was billed, and a quick retry is
    /// cheaper than a trip through the queue. Default: 2.
    /// </summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>
    /// Also retry answered HTTP errors (408, 409, 429, 5xx, 529) and timeouts inside the client, as the official SDKs
    /// do. Off by default because the queue owns those retries: a task that got a 429 goes back to the queue with a
    /// not-before time (backoff, retry-after), so its slot is free meanwhile, every attempt's status and request id is
    /// recorded, and shared rate-limit pacing sees every call. Retrying inside the client would hide all three.
    /// Turn on only for a caller with no queue behind it. Default: false.
    /// </summary>
    public bool RetryHttpErrors { get; set; }

    /// <summary>First backoff delay, doubled each retry, times a jitter of 0.75–1.0. Default: 0.5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Cap on the computed backoff delay. Default: 8 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// The longest <c>retry-after</c> / <c>retry-after-ms</c> that is obeyed; a longer one falls back to the
    /// computed backoff. Default: 60 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most bytes of a response body kept; the rest is dropped and the capture says so. Default: 32 MB.</summary>
    [Range(1, int.MaxValue)]
    public int MaxBodyBytes { get; set; } = 32 * 1024 * 1024;

    public const string DefaultBaseUrl = "https://api.anthropic.com";
    public const string ApiKeyVariable = "ANTHROPIC_API_KEY";
    public const string BaseUrlVariable = "ANTHROPIC_BASE_URL";
}
