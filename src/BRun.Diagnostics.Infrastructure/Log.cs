using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure;

/// <summary>Log messages of the infrastructure project. Event ids: 1xxx database, 2xxx blobs and reports.</summary>
internal static partial class Log
{
    public static class Events
    {
        public const int MigrationApplied = 1001;
        public const int MigrationsUpToDate = 1002;
        public const int MigrationUnknownInDatabase = 1003;
        public const int FailedGenerationStored = 1101;
        public const int FailedGenerationAlreadyStored = 1102;
        public const int ReportUploaded = 2001;
        public const int ReportUploadFailed = 2002;
        public const int ReportUploadGaveUp = 2003;
        public const int ReportRebuiltForDownload = 2004;
        public const int ReportRetryPassFailed = 2005;
        public const int ReportRetryPass = 2006;
    }

    [LoggerMessage(Events.MigrationApplied, LogLevel.Information, "Applied migration {Version:D4} {Name} in {ElapsedMs} ms")]
    public static partial void MigrationApplied(this ILogger logger, int version, string name, long elapsedMs);

    [LoggerMessage(Events.MigrationsUpToDate, LogLevel.Information, "Database schema is up to date ({Count} migrations applied)")]
    public static partial void MigrationsUpToDate(this ILogger logger, int count);

    [LoggerMessage(Events.MigrationUnknownInDatabase, LogLevel.Warning,
        "The database has migration {Version:D4} {Name}, which this build does not know; a newer build migrated it")]
    public static partial void MigrationUnknownInDatabase(this ILogger logger, int version, string name);

    [LoggerMessage(Events.FailedGenerationStored, LogLevel.Information,
        "Stored failed generation {FailureId} ({FailureType}, stop_reason {StopReason}) for task {TaskId}")]
    public static partial void FailedGenerationStored(this ILogger logger, Guid failureId, string failureType, string? stopReason, Guid? taskId);

    [LoggerMessage(Events.FailedGenerationAlreadyStored, LogLevel.Information,
        "Task {TaskId} already has failed generation {FailureId}; not stored again")]
    public static partial void FailedGenerationAlreadyStored(this ILogger logger, Guid? taskId, Guid failureId);

    [LoggerMessage(Events.ReportUploaded, LogLevel.Information, "Uploaded error report of {FailureId} to {Path} (attempt {Attempt})")]
    public static partial void ReportUploaded(this ILogger logger, Guid failureId, string path, int attempt);

    [LoggerMessage(Events.ReportUploadFailed, LogLevel.Warning,
        "Upload of the error report of {FailureId} failed (attempt {Attempt}); next try at {NextAttemptAt:O}")]
    public static partial void ReportUploadFailed(this ILogger logger, Exception exception, Guid failureId, int attempt, DateTime nextAttemptAt);

    [LoggerMessage(Events.ReportUploadGaveUp, LogLevel.Error,
        "Gave up uploading the error report of {FailureId} after {Attempts} attempts; it can still be downloaded (rebuilt from the row)")]
    public static partial void ReportUploadGaveUp(this ILogger logger, Exception exception, Guid failureId, int attempts);

    [LoggerMessage(Events.ReportRebuiltForDownload, LogLevel.Information,
        "Error report of {FailureId} is not in blob storage ({Reason}); rebuilt it from the row")]
    public static partial void ReportRebuiltForDownload(this ILogger logger, Guid failureId, string reason);

    [LoggerMessage(Events.ReportRetryPassFailed, LogLevel.Error, "A report upload retry pass failed; the next pass will try again")]
    public static partial void ReportRetryPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(Events.ReportRetryPass, LogLevel.Information, "Report upload retry pass: {Claimed} due, {Uploaded} uploaded, {Failed} failed")]
    public static partial void ReportRetryPass(this ILogger logger, int claimed, int uploaded, int failed);
}
