using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Retention;

/// <summary>Log messages of retention (EventIds 7340–7359).</summary>
internal static partial class RetentionLog
{
    [LoggerMessage(7340, LogLevel.Information,
        "Retention run {RunId} started by {TriggeredBy}: failed generations created before {Cutoff:O} ({OlderThanDays} days), dry run {DryRun}")]
    public static partial void RunStarted(this ILogger logger, Guid runId, string triggeredBy, DateTimeOffset cutoff, int olderThanDays, bool dryRun);

    [LoggerMessage(7341, LogLevel.Information,
        "Retention run {RunId} batch {Batch}: deleted {Rows} failed generations and {BlobsDeleted} reports ({BlobsMissing} reports were already gone)")]
    public static partial void BatchDeleted(this ILogger logger, Guid runId, int batch, int rows, int blobsDeleted, int blobsMissing);

    [LoggerMessage(7342, LogLevel.Information,
        "Retention run {RunId} {Status}: {FailuresDeleted} failed generations, {BlobsDeleted} reports ({BlobsMissing} already gone), {CallsPruned} call bodies pruned; kept {KeptQuarantined} quarantined and {KeptRetrying} still uploading; dry run {DryRun}")]
    public static partial void RunFinished(this ILogger logger, Guid runId, string status, long failuresDeleted, long blobsDeleted, long blobsMissing,
        long callsPruned, long keptQuarantined, long keptRetrying, bool dryRun);

    [LoggerMessage(7343, LogLevel.Error, "Retention run {RunId} stopped after {FailuresDeleted} deletions; running it again deletes the rest")]
    public static partial void RunFailed(this ILogger logger, Exception exception, Guid runId, long failuresDeleted);

    [LoggerMessage(7344, LogLevel.Warning, "Periodic retention pass failed; trying again in {Interval}")]
    public static partial void PassFailed(this ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(7345, LogLevel.Information, "Retention is off (Retention:OlderThanDays is 0): failed generations are kept for ever")]
    public static partial void RetentionOff(this ILogger logger);

    [LoggerMessage(7346, LogLevel.Debug, "Retention run {RunId} deleted failed generation {FailureId} created {CreatedAt:O} (report {Path}, existed {BlobExisted})")]
    public static partial void FailureDeleted(this ILogger logger, Guid runId, Guid failureId, DateTime createdAt, string path, bool blobExisted);

    [LoggerMessage(7347, LogLevel.Information, "Retention run {RunId} pruned the raw bodies of {Calls} generation calls")]
    public static partial void CallsPruned(this ILogger logger, Guid runId, long calls);

    [LoggerMessage(7348, LogLevel.Warning, "Retention run {RunId} was cancelled after {FailuresDeleted} deletions; running it again deletes the rest")]
    public static partial void RunCancelled(this ILogger logger, Guid runId, long failuresDeleted);
}
