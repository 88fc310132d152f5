using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure;

// The real-API queue side (issue 8A): fencing, transient retries, durable capture, demo mode. EventIds 7000-7049.
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Error,
        Message = "Failed generation {FailureId}: the report retrier cannot read the row or rebuild its report; marked unreadable and skipped")]
    public static partial void ReportRowUnreadable(this ILogger logger, Exception exception, Guid failureId);
}
