using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// The queue's retry budget for transient API failures (configuration section <c>ApiRetry</c>): 429, 529, 5xx,
/// timeouts, refused or reset connections, a stream that failed before any content. Such a task goes back to the
/// queue with a not-before time instead of becoming a failed generation, until the budget runs out. The defaults are
/// a job queue's (hours, not seconds): an outage or a tight rate limit is waited out, not recorded as data loss.
/// </summary>
public sealed class ApiRetryOptions
{
    public const string SectionName = "ApiRetry";

    /// <summary>Most Claude calls per task, the failed ones included; then it ends as an api_error failure. Default: 25.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 25;

    /// <summary>Longest time from a task's first call to its last retry; then it ends as an api_error failure. Default: 6 h.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(6);

    /// <summary>First backoff, doubled per failed call, times a jitter of 0.75–1.0. Default: 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap on the computed backoff. Default: 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest <c>retry-after</c> obeyed as named; a longer one is capped here. Default: 1 h.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(1);
}
