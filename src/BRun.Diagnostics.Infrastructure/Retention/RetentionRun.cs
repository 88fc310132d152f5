namespace BRun.Diagnostics.Infrastructure.Retention;

/// <summary>The values of <c>retention_runs.status</c>.</summary>
public static class RetentionStatus
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>What to delete and who asks. <paramref name="TriggeredBy"/> is recorded (e.g. <c>service:brun-web</c>, <c>cli:ana</c>).</summary>
public sealed record RetentionRequest(int OlderThanDays, bool DryRun, string TriggeredBy);

/// <summary>
/// One row of <c>retention_runs</c>. In a dry run the counts say what a real run would delete. Times are UTC.
/// </summary>
public sealed record RetentionRun(
    Guid Id,
    string TriggeredBy,
    DateTime StartedAt,
    DateTime? FinishedAt,
    string Status,
    bool DryRun,
    int OlderThanDays,
    DateTime Cutoff,
    long FailuresDeleted,
    long BlobsDeleted,
    long BlobsMissing,
    long KeptQuarantined,
    long KeptRetrying,
    long CallsPruned,
    int Batches,
    string? LastError)
{
    internal const string Columns = """
        id, triggered_by AS triggeredby, started_at AS startedat, finished_at AS finishedat, status, dry_run AS dryrun,
        older_than_days AS olderthandays, cutoff, failures_deleted AS failuresdeleted, blobs_deleted AS blobsdeleted,
        blobs_missing AS blobsmissing, kept_quarantined AS keptquarantined, kept_retrying AS keptretrying,
        calls_pruned AS callspruned, batches, last_error AS lasterror
        """;
}

/// <summary>A retention run that stopped on an error; the run's row says how far it got. Running again deletes the rest.</summary>
public sealed class RetentionFailedException(RetentionRun run, Exception innerException)
    : Exception($"Retention run {run?.Id} failed after {run?.FailuresDeleted} deletions: {innerException?.Message}", innerException)
{
    public RetentionRun Run { get; } = run ?? throw new ArgumentNullException(nameof(run));
}
