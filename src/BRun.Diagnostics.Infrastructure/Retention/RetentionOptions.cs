using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Retention;

/// <summary>
/// Retention of failed generations and their RAW reports (docs/retention.md). Section <c>Retention</c>.
/// Conversations are never touched.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>The largest age in days anything accepts: this setting, <c>brun retention run --older-than</c>, the page's dry run.</summary>
    public const int MaxOlderThanDays = 36_500;

    /// <summary>
    /// Failed generations created more than this many days ago are deleted, with their reports. 0 keeps everything.
    /// Default: 0, because deleting diagnostics is a decision a team makes, not something a fresh install does.
    /// </summary>
    [Range(0, MaxOlderThanDays)]
    public int OlderThanDays { get; set; }

    /// <summary>Run retention periodically in the web host (it does nothing while <see cref="OlderThanDays"/> is 0). Default: true.</summary>
    public bool ServiceEnabled { get; set; } = true;

    /// <summary>How often the web host runs retention; the first run is at start. Default: 6 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Rows per transaction: their blobs are deleted, then the rows, then the batch commits. Default: 200.</summary>
    [Range(1, 5_000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>Blob deletes in flight at once within a batch. Default: 8.</summary>
    [Range(1, 64)]
    public int BlobParallelism { get; set; } = 8;

    /// <summary>
    /// Also empty the raw bodies in <c>generation_calls</c> of finished tasks older than the cutoff (the rows, their
    /// usage and cost stay). Default: true.
    /// </summary>
    public bool PruneCallBodies { get; set; } = true;
}
