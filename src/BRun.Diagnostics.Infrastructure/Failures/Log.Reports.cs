using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure;

/// <summary>Log messages of the reports going out: the bulk RAW archive and the run report (event ids 7600–7699).</summary>
internal static partial class Log
{
    public static class ReportEvents
    {
        public const int ReportRebuiltForArchive = 7600;
        public const int ArchiveReportGone = 7601;
        public const int ArchiveWritten = 7602;
    }

    [LoggerMessage(ReportEvents.ReportRebuiltForArchive, LogLevel.Information,
        "Error report of {FailureId} is not in blob storage ({Reason}); the archive holds the copy rebuilt from the row")]
    public static partial void ReportRebuiltForArchive(this ILogger logger, Guid failureId, string reason);

    [LoggerMessage(ReportEvents.ArchiveReportGone, LogLevel.Warning,
        "Failure {FailureId} was deleted while the archive was written; index.csv lists it without an entry")]
    public static partial void ArchiveReportGone(this ILogger logger, Guid failureId);

    [LoggerMessage(ReportEvents.ArchiveWritten, LogLevel.Information,
        "Report archive for {Identity}: {Reports} reports ({Rebuilt} rebuilt from the row) in {ElapsedMs} ms")]
    public static partial void ArchiveWritten(this ILogger logger, string identity, long reports, long rebuilt, long elapsedMs);
}
