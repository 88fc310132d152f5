namespace BRun.Diagnostics.Web.Datasets;

/// <summary>Log messages of the Datasets page's background work (event ids 7650–7699 of the datasets range 7600–7699).</summary>
internal static partial class Log
{
    [LoggerMessage(7650, LogLevel.Information, "Dashboard scan {ScanId} finished: {Scanned} scanned, {Flagged} flagged, {Quarantined} quarantined")]
    public static partial void ScanFinished(this ILogger logger, Guid scanId, long scanned, long flagged, long quarantined);

    [LoggerMessage(7651, LogLevel.Error, "Dashboard scan {ScanId} stopped; it stays resumable from its last committed batch")]
    public static partial void ScanFailed(this ILogger logger, Guid scanId, Exception exception);

    [LoggerMessage(7652, LogLevel.Warning, "A scan-progress subscriber failed while handling an update")]
    public static partial void ScanSubscriberFailed(this ILogger logger, Exception exception);
}
