using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Batches;

/// <summary>Options of <see cref="BatchCoordinator"/> (configuration section <c>Batch</c>).</summary>
public sealed class BatchOptions
{
    public const string SectionName = "Batch";

    /// <summary>Run the coordinator wherever the worker runs (<c>Worker:Enabled</c>). Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests per batch; the API allows 100,000. Default: 100,000 (lower it in tests to see splitting).</summary>
    [Range(1, 100_000)]
    public int MaxRequestsPerBatch { get; set; } = 100_000;

    /// <summary>Bytes per batch create body; the API allows 256 MB. Default: 256 MiB minus 1 MiB of headroom.</summary>
    [Range(1024L, 256L * 1024 * 1024)]
    public long MaxBatchBytes { get; set; } = 255L * 1024 * 1024;

    /// <summary>How often the coordinator looks for tasks to submit and batches due for a poll. Default: 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>First poll delay after a submit, and the floor of the backoff. Default: 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MinPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Ceiling of the poll backoff (each unchanged poll waits 1.5× longer). Default: 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long one worker holds a batch for polling or ingesting without renewing; a killed worker's batch is taken
    /// over after this. Default: 60 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PollLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A submission whose POST was never confirmed (the submitter crashed or timed out) is reconciled against the API's
    /// batch list after this. Must exceed <c>Claude:Timeout</c>, so a slow POST cannot land after we gave up on it.
    /// Default: 11 min.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromMinutes(11);

    /// <summary>Send transiently errored results back online (one POST /v1/messages each) instead of in the next batch. Default: false.</summary>
    public bool ResubmitOnline { get; set; }

    /// <summary>Deliveries (batch submissions and online attempts) after which an errored/expired task is stored as an api_error failure. Default: 4.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>
    /// Downloads of a batch's results that may end short of one line per request (a transfer cut short) before what
    /// the last one lacked is taken as missing and those requests are sent again (billed again). Each short download is
    /// ingested up to its last whole chunk and read again from there. Default: 3.
    /// </summary>
    [Range(1, 100)]
    public int MaxShortResultsReads { get; set; } = 3;

    /// <summary>Results lines per transaction while ingesting; also the checkpoint granularity. Default: 500.</summary>
    [Range(1, 100_000)]
    public int IngestChunkSize { get; set; } = 500;
}
