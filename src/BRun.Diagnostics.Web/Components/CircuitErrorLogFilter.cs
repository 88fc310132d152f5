using Microsoft.AspNetCore.SignalR;

namespace BRun.Diagnostics.Web.Components;

/// <summary>
/// Says when a dashboard connection is closed by an error. SignalR logs that only at Debug (a message over the size
/// limit, a malformed one), so in production a page could stop working with no trace on the server.
/// </summary>
public sealed partial class CircuitErrorLogFilter(ILogger<CircuitErrorLogFilter> logger) : IHubFilter
{
    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (exception is not null)
        {
            LogClosedByError(exception, exception.GetType().Name);
        }

        await next(context, exception).ConfigureAwait(false);
    }

    [LoggerMessage(7801, LogLevel.Warning, "A dashboard connection was closed by an error ({ExceptionType}); its page stopped working until reloaded")]
    private partial void LogClosedByError(Exception exception, string exceptionType);
}
