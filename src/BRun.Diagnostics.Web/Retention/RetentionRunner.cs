using BRun.Diagnostics.Infrastructure.Retention;

namespace BRun.Diagnostics.Web.Retention;

/// <summary>
/// Real retention runs an admin starts from the dashboard. They run in the background, so a run goes on when its page
/// closes, one at a time per process (a second click while one runs is refused, not queued), and stop when an admin
/// stops them or the host stops (the run's row then says <c>cancelled</c>, and the next run deletes the rest). A run beside the scheduled one is
/// safe: each batch takes its rows with SKIP LOCKED, so they share the work.
/// </summary>
public sealed partial class RetentionRunner(RetentionService retention, IHostApplicationLifetime lifetime, ILogger<RetentionRunner> logger)
{
    private readonly Lock _gate = new();
    private Task? _current;
    private CancellationTokenSource? _stop;

    /// <summary>The run started last from this process, finished or not (tests wait on it).</summary>
    public Task? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>A run started here is still going.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _current is { IsCompleted: false };
            }
        }
    }

    /// <summary>Asks the run started here to stop (between or inside its batches); false when none is going.</summary>
    public bool Stop()
    {
        lock (_gate)
        {
            if (_current is not { IsCompleted: false })
            {
                return false;
            }

            // Set with the run it stops.
            _stop!.Cancel();
            return true;
        }
    }

    /// <summary>Starts <paramref name="request"/> unless a run started here is still going; false then.</summary>
    public bool TryStart(RetentionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_current is { IsCompleted: false })
            {
                return false;
            }

            _stop?.Dispose();
            _stop = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
            var token = _stop.Token;
            _current = Task.Run(() => RunAsync(request, token));
            return true;
        }
    }

    private async Task RunAsync(RetentionRequest request, CancellationToken stop)
    {
        try
        {
            await retention.RunAsync(request, stop).ConfigureAwait(false);
        }
        catch (RetentionFailedException ex)
        {
            // The run's row says how far it got; the service logged the cause. The page shows the row.
            Log.StartedRunFailed(logger, ex, request.TriggeredBy, request.OlderThanDays);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped by an admin or by the host: the service marked the run cancelled and logged it.
        }
        catch (Exception ex)
        {
            // Nothing awaits this task: a fault is logged here or nowhere.
            Log.StartedRunCrashed(logger, ex, request.TriggeredBy, request.OlderThanDays);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7830, Level = LogLevel.Warning, Message = "A retention run started by {TriggeredBy} ({Days} days) did not finish; its row in the log says how far it got")]
        public static partial void StartedRunFailed(ILogger logger, Exception exception, string triggeredBy, int days);

        [LoggerMessage(EventId = 7831, Level = LogLevel.Error, Message = "A retention run started by {TriggeredBy} ({Days} days) failed unexpectedly")]
        public static partial void StartedRunCrashed(ILogger logger, Exception exception, string triggeredBy, int days);
    }
}
