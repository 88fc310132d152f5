using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>Error report uploads and their retries. Section <c>ReportUpload</c>.</summary>
public sealed class ReportUploadOptions
{
    public const string SectionName = "ReportUpload";

    /// <summary>Run the background retrier. Default: true.</summary>
    public bool RetrierEnabled { get; set; } = true;

    /// <summary>How often the retrier looks for reports to upload. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Reports per retry pass. Default: 50.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>Upload attempts (the first one included) before a report is left as failed for good. Default: 10.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Wait after the first failed attempt; doubles per attempt up to <see cref="MaxBackoff"/>. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait between attempts. Default: 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a freshly stored row waits before the retrier may take it, covering a process that died between
    /// the insert and the inline upload. Default: 2 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan InitialGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a claimed report is hidden from other retriers; a crashed retrier's claim expires after it. Default: 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(5);

    internal TimeSpan BackoffAfter(int attempts)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var delay = BaseBackoff.Ticks * Math.Pow(2, exponent);
        return delay >= MaxBackoff.Ticks ? MaxBackoff : TimeSpan.FromTicks((long)delay);
    }
}
