using System.Threading.Channels;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>
/// The in-process fan-out of run events to dashboard circuits. <see cref="Subscribe"/> hands out disposable
/// subscriptions; <see cref="Publish"/> delivers an event that arrives after a quiet period at once, then collects
/// what follows for <see cref="LiveEventOptions.BatchWindow"/> and delivers it to every subscriber as one
/// <see cref="LiveEventBatch"/>: a lone failure shows without waiting for a window (the dashboard's p95 &lt; 250 ms
/// goal), and a burst still costs each dashboard at most one re-query per window. Delivery runs on the hub's own
/// loop, never on the publisher's thread, so a slow circuit cannot stall the LISTEN connection.
/// </summary>
public sealed partial class LiveEventHub : BackgroundService
{
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LiveEventHub> _logger;
    private readonly TimeSpan _window;
    private readonly Lock _gate = new();
    private readonly Channel<LiveEventBatch> _batches = Channel.CreateUnbounded<LiveEventBatch>(new() { SingleReader = true });
    private List<RunEvent> _pending = [];
    private bool _pendingResync;
    private ITimer? _windowTimer;
    private readonly SubscriberList<LiveEventBatch> _subscribers;

    public LiveEventHub(IOptions<LiveEventOptions> options, TimeProvider timeProvider, ILogger<LiveEventHub> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _timeProvider = timeProvider;
        _logger = logger;
        _window = options.Value.BatchWindow;
        _subscribers = new(ex => Log.SubscriberFailed(logger, ex));
    }

    /// <summary>Current number of subscriptions (one per open dashboard component that follows runs).</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>
    /// Registers <paramref name="onBatch"/> until the returned subscription is disposed. The callback runs on the
    /// hub's loop: a component marshals to its renderer with <c>InvokeAsync</c> and reports its own errors
    /// (<c>DispatchExceptionAsync</c>); an exception that escapes is logged and does not reach other subscribers.
    /// </summary>
    public IDisposable Subscribe(Func<LiveEventBatch, Task> onBatch) => _subscribers.Subscribe(onBatch);

    /// <summary>Delivers the event now when no window is open (and opens one), else queues it for the open window.</summary>
    public void Publish(RunEvent runEvent)
    {
        ArgumentNullException.ThrowIfNull(runEvent);
        lock (_gate)
        {
            _pending.Add(runEvent);
            DeliverNowOrInWindow();
        }
    }

    /// <summary>Tells every subscriber to reload everything, e.g. after events may have been missed.</summary>
    public void PublishResync()
    {
        lock (_gate)
        {
            _pendingResync = true;
            DeliverNowOrInWindow();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _batches.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // Batches queue up only while subscribers are slower than the window: merge them into one delivery.
                var merged = new List<RunEvent>();
                var resync = false;
                while (_batches.Reader.TryRead(out var batch))
                {
                    merged.AddRange(batch.Events);
                    resync |= batch.Resync;
                }

                await DeliverAsync(new LiveEventBatch(merged, resync)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host stopping: undelivered events are of no use to circuits that are closing.
        }
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            _windowTimer?.Dispose();
            _windowTimer = null;
        }

        base.Dispose();
    }

    private void DeliverNowOrInWindow()
    {
        // Called under _gate. No open window means nothing was delivered for a window's length: this event goes
        // out at once, and the window it opens collects whatever follows.
        if (_windowTimer is null)
        {
            FlushPending();
            OpenWindow();
        }
    }

    private void OpenWindow()
    {
        // Called under _gate. The timer comes from the injected TimeProvider, so tests drive the window.
        _windowTimer = _timeProvider.CreateTimer(static state => ((LiveEventHub)state!).CloseWindow(), this, _window, Timeout.InfiniteTimeSpan);
    }

    private void CloseWindow()
    {
        lock (_gate)
        {
            _windowTimer?.Dispose();
            _windowTimer = null;

            // What arrived during the window goes out now and opens the next window, so a steady stream is delivered
            // once per window; a window that collected nothing ends, and the next event is delivered at once.
            if (FlushPending())
            {
                OpenWindow();
            }
        }
    }

    /// <summary>Hands the collected events to the delivery loop; false when there was nothing to hand. Called under _gate.</summary>
    private bool FlushPending()
    {
        if (_pending.Count == 0 && !_pendingResync)
        {
            return false;
        }

        _batches.Writer.TryWrite(new LiveEventBatch(_pending, _pendingResync));
        _pending = [];
        _pendingResync = false;
        return true;
    }

    private async Task DeliverAsync(LiveEventBatch batch)
    {
        var count = _subscribers.Count;
        if (count == 0)
        {
            return;
        }

        await _subscribers.DeliverAsync(batch).ConfigureAwait(false);
        Log.Delivered(_logger, batch.Events.Count, count);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Delivered {Count} run events to {Subscribers} subscribers")]
        public static partial void Delivered(ILogger logger, int count, int subscribers);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "A live-event subscriber failed while handling a batch")]
        public static partial void SubscriberFailed(ILogger logger, Exception exception);
    }
}
