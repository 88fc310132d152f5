using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Alerts;

/// <summary>Log messages of run alerts (EventIds 7300-7399).</summary>
internal static partial class AlertLog
{
    [LoggerMessage(7301, LogLevel.Information, "Alert {AlertId} ({Kind}) of run {RunId} sent to its webhook on attempt {Attempt}")]
    public static partial void WebhookDelivered(this ILogger logger, Guid alertId, string kind, Guid runId, int attempt);

    [LoggerMessage(7302, LogLevel.Warning, "Alert {AlertId} webhook attempt {Attempt} failed ({Error}); retrying in {RetryAfter}")]
    public static partial void WebhookRetry(this ILogger logger, Guid alertId, int attempt, string error, TimeSpan retryAfter);

    [LoggerMessage(7303, LogLevel.Error, "Alert {AlertId} webhook gave up after {Attempt} attempts ({Error})")]
    public static partial void WebhookGaveUp(this ILogger logger, Guid alertId, int attempt, string error);

    [LoggerMessage(7304, LogLevel.Error, "Webhook pass failed; trying again next interval")]
    public static partial void WebhookPassFailed(this ILogger logger, Exception exception);
}
