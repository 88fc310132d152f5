using System.Collections.Concurrent;
using System.Data.Common;
using System.Threading.Channels;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;

namespace BRun.Diagnostics.Web.Datasets;

/// <summary>A scan moved on (a batch committed) or stopped. It carries ids only: a page re-reads the scan as its own user.</summary>
public sealed record ScanUpdate(Guid ScanId, bool Finished, string? Problem = null);

/// <summary>
/// Runs the scans the Datasets page starts, in the background of the web host, so a scan goes on when the page is
/// closed, and tells open pages after every committed batch. The scan itself is <see cref="QuarantineScanner"/>, the
/// same one <c>brun scan</c> runs, as the user who started it (row-level security applies). Scans run elsewhere (by
/// <c>brun scan</c>, or another web host) reach open pages too: every committed batch is announced on the run-event
/// channel, and this service passes those of scans it does not run itself on to its subscribers. Updates are
/// delivered on this service's own loop, never on the scan's, so a slow circuit cannot hold a scan up. On shutdown
/// running scans are cancelled; each resumes from its last committed batch when started again.
/// </summary>
public sealed class DashboardScanRunner(QuarantineScanner scanner, LiveEventHub hub, ILogger<DashboardScanRunner> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Task> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private readonly Channel<ScanUpdate> _updates = Channel.CreateUnbounded<ScanUpdate>(new() { SingleReader = true });
    private readonly Lock _gate = new();
    private readonly SubscriberList<ScanUpdate> _subscribers = new(logger.ScanSubscriberFailed);

    /// <summary>Whether this process is running the scan now.</summary>
    public bool IsRunning(Guid scanId) => _running.ContainsKey(scanId);

    /// <summary>
    /// Starts a scan of <paramref name="scope"/> for <paramref name="user"/>, or picks up that user's unfinished scan of
    /// the same scope and kind (as <c>brun scan</c> does), and returns its id at once; the scan runs in the background.
    /// </summary>
    public async Task<Guid> StartAsync(Guid user, ScanScope scope, bool dryRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var scanId = await scanner.FindUnfinishedAsync(user, scope, dryRun, ct).ConfigureAwait(false)
                     ?? await scanner.StartAsync(user, scope, dryRun, ct).ConfigureAwait(false);
        lock (_gate)
        {
            if (!_running.ContainsKey(scanId))
            {
                // Registered before it starts, so its own removal at the end cannot come first.
                var run = new Task<Task>(() => RunAsync(user, scanId));
                _running[scanId] = run.Unwrap();
                run.Start(TaskScheduler.Default);
            }
        }

        return scanId;
    }

    /// <summary>
    /// Registers <paramref name="onUpdate"/> until the subscription is disposed. It runs on this service's loop: a
    /// component marshals with <c>InvokeAsync</c> and reports its own errors (<c>DispatchExceptionAsync</c>).
    /// </summary>
    public IDisposable Subscribe(Func<ScanUpdate, Task> onUpdate) => _subscribers.Subscribe(onUpdate);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop can come after Dispose (the web tests' hosts shut down that way, the cause not pinned down): Dispose
        // has cancelled the scans already, and there is nothing left to stop.
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        _updates.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _stopping.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var elsewhere = hub.Subscribe(ForwardScansRunElsewhere);
        try
        {
            await foreach (var update in _updates.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await _subscribers.DeliverAsync(update).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host stopping: the pages are closing too.
        }
    }

    private async Task RunAsync(Guid user, Guid scanId)
    {
        try
        {
            var done = await scanner.RunAsync(user, scanId, new Progress(this, scanId), _stopping.Token).ConfigureAwait(false);
            logger.ScanFinished(scanId, done.Scanned, done.Flagged, done.Quarantined);
            _updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: true));
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutdown: the scan stays 'running' at its last checkpoint and resumes when started again.
        }
        catch (ScanBusyException ex)
        {
            _updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: true, ex.Message));
        }
        catch (DbException ex)
        {
            logger.ScanFailed(scanId, ex);
            _updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: true, "The scan stopped (database error); start it again to resume from its last batch."));
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Nobody awaits this background run but StopAsync: a failure is logged as such and shown on the page,
            // not left as an unobserved task. The scan stays resumable from its last committed batch.
            logger.ScanFailed(scanId, ex);
            _updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: true, $"The scan stopped: {ex.Message}"));
        }
        finally
        {
            _running.TryRemove(scanId, out _);
        }
    }

    /// <summary>Scans this process runs report through their own progress; the others only through these events.</summary>
    private Task ForwardScansRunElsewhere(LiveEventBatch batch)
    {
        foreach (var scanEvent in batch.Events)
        {
            if (scanEvent.ScanId is { } scanId && !IsRunning(scanId)
                && scanEvent.Kind is RunEvent.ScanProgressed or RunEvent.ScanCompleted)
            {
                _updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: scanEvent.Kind == RunEvent.ScanCompleted));
            }
        }

        return Task.CompletedTask;
    }

    private sealed class Progress(DashboardScanRunner runner, Guid scanId) : IProgress<ScanProgress>
    {
        public void Report(ScanProgress value) => runner._updates.Writer.TryWrite(new ScanUpdate(scanId, Finished: false));
    }
}
