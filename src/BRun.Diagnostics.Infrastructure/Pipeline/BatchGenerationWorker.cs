using System.Collections.Concurrent;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using BRun.Diagnostics.Infrastructure.RateLimits;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>Does the work of one claimed task: generate, validate, store, finish.</summary>
public interface IGenerationTaskHandler
{
    Task HandleAsync(ClaimedTask task, CancellationToken ct);

    /// <summary>Ends a task that could not be stored after many deliveries, so its run can still finish.</summary>
    Task GiveUpAsync(ClaimedTask task, Exception lastError, CancellationToken ct);
}

/// <summary>
/// Pulls tasks from <c>generation_tasks</c> and keeps up to <see cref="WorkerOptions.MaxInFlight"/> in flight.
/// Wakes on NOTIFY, polls as the fallback, renews leases while tasks run, and on shutdown lets in-flight tasks
/// finish within a deadline before releasing the rest for another worker.
/// </summary>
public sealed partial class BatchGenerationWorker(
    GenerationQueue queue,
    IGenerationTaskHandler handler,
    NpgsqlDataSource dataSource,
    RateLimitPacer pacer,
    IOptions<WorkerOptions> options,
    TimeProvider timeProvider,
    ILogger<BatchGenerationWorker> logger,
    ClaudeReadiness? readiness = null) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value;
    private readonly ConcurrentDictionary<Guid, (ClaimedTask Task, Task Running)> _inFlight = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _workCancellation = new();

    /// <summary>This worker's lease owner name.</summary>
    public string WorkerId { get; } = options.Value.WorkerId
        ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    private long _lastLoopTimestamp;

    /// <summary>Tasks currently in flight in this process.</summary>
    public int InFlightCount => _inFlight.Count;

    /// <summary>Why the worker refused to start (no API key and no demo mode), or null.</summary>
    public string? RefusedBecause => readiness?.Problem;

    /// <summary>When the claim loop last turned (a <see cref="TimeProvider"/> timestamp; 0 before it starts). Readiness reads it.</summary>
    public long LastLoopTimestamp => Volatile.Read(ref _lastLoopTimestamp);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (RefusedBecause is { } problem)
        {
            // The host (and the dashboard in it) keeps running; only Claude calls are impossible.
            Log.WorkerRefused(logger, problem);
            return;
        }

        Log.WorkerStarted(logger, WorkerId, _options.MaxInFlight);
        var listener = ListenAsync(stoppingToken);

        // The heartbeat has its own stop: it must keep renewing leases while in-flight tasks drain after shutdown
        // begins, or their leases lapse and another worker delivers them a second time.
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(heartbeatStop.Token);
        var nextRescue = timeProvider.GetTimestamp();
        pacer.Changed += Wake;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Volatile.Write(ref _lastLoopTimestamp, timeProvider.GetTimestamp());
                if (timeProvider.GetTimestamp() >= nextRescue)
                {
                    nextRescue = timeProvider.GetTimestamp() + (long)(_options.LeaseDuration.TotalSeconds / 2 * timeProvider.TimestampFrequency);
                    await RescueAsync(stoppingToken).ConfigureAwait(false);
                }

                // Claim only what the rate limits leave room for: tasks waiting on them stay claimable by any worker.
                var free = Math.Min(_options.MaxInFlight - _inFlight.Count, pacer.ClaimAllowance(_inFlight.Count));
                var claimed = 0;
                if (free > 0)
                {
                    claimed = await ClaimAndStartAsync(free, stoppingToken).ConfigureAwait(false);
                }

                // A full claim means more work is likely waiting: claim again as soon as a slot frees.
                if (free > 0 && claimed == free)
                {
                    continue;
                }

                await WaitForWakeAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown requested: drain below.
        }
        finally
        {
            pacer.Changed -= Wake;
        }

        await DrainAsync().ConfigureAwait(false);
        await heartbeatStop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(listener, heartbeat).ConfigureAwait(false);
        Log.WorkerStopped(logger, WorkerId);
    }

    public override void Dispose()
    {
        _workCancellation.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    private async Task<int> ClaimAndStartAsync(int free, CancellationToken stoppingToken)
    {
        IReadOnlyList<ClaimedTask> tasks;
        var started = timeProvider.GetUtcNow();
        try
        {
            using (TaskTracing.UntracedDatabaseWork())
            {
                tasks = await queue.ClaimAsync(WorkerId, free, _options.LeaseDuration, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex)
        {
            // The database is away (restart, network): keep the loop alive and try again after the poll interval.
            TaskTracing.RecordClaim(WorkerId, free, 0, started, timeProvider.GetUtcNow(), ex);
            Log.ClaimFailed(logger, ex, WorkerId);
            return 0;
        }

        if (tasks.Count == 0)
        {
            return 0;
        }

        var ended = timeProvider.GetUtcNow();
        var claim = new ClaimTiming(started, ended, TaskTracing.RecordClaim(WorkerId, free, tasks.Count, started, ended));

        foreach (var task in tasks)
        {
            // Checkpoint: the task is leased to us; from here it is either finished, released, or rescued on expiry.
            // The gate holds the task until it is registered, so a fast finish cannot unregister it first.
            var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _inFlight[task.Id] = (task, RunTaskAsync(task, claim, registered.Task));
            registered.SetResult();
        }

        return tasks.Count;
    }

    private async Task RunTaskAsync(ClaimedTask task, ClaimTiming claim, Task registered)
    {
        await registered.ConfigureAwait(false);

        // The delivery's trace: claim, call, capture, validate and store are children of this span.
        using var span = TaskTracing.StartTask(task, WorkerId, claim);
        try
        {
            await handler.HandleAsync(task, _workCancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_workCancellation.IsCancellationRequested)
        {
            // Shutdown deadline passed: DrainAsync releases the task for another worker.
            TaskTracing.SetOutcome("released");
            return;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            TaskTracing.SetError(span, ex);
            await HandleTaskErrorAsync(task, ex).ConfigureAwait(false);
        }
        finally
        {
            if (!_workCancellation.IsCancellationRequested)
            {
                _inFlight.TryRemove(task.Id, out _);
            }

            Wake();
        }
    }

    /// <summary>Signals the claim loop. Signals coalesce: a burst of NOTIFYs costs one claim query, not one each.</summary>
    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private async Task WaitForWakeAsync(CancellationToken stoppingToken)
    {
        using var poll = new CancellationTokenSource(_options.PollInterval, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, poll.Token);
        try
        {
            await _wake.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // Poll interval elapsed with no signal: claim anyway, NOTIFY may have been missed.
        }
    }

    private async Task HandleTaskErrorAsync(ClaimedTask task, Exception ex)
    {
        Log.TaskErrored(logger, ex, task.Id, task.RunId, task.Attempts);
        try
        {
            // Only errors of ours count toward giving up; transient API failures go back through the queue's retry
            // budget instead and never land here.
            if (task.DeliveryErrors + 1 >= _options.MaxDeliveryAttempts)
            {
                await handler.GiveUpAsync(task, ex, _workCancellation.Token).ConfigureAwait(false);
            }
            else
            {
                // Requeue so another delivery (here or on another worker) can store it once storage is back. Its
                // captured answer is durable, so that delivery will not call Claude again.
                await queue.ReleaseAsync(WorkerId, [task], Truncate(ex.Message), _workCancellation.Token, countAsError: true).ConfigureAwait(false);
            }
        }
        catch (Exception releaseError) when (releaseError is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // The database is unreachable too: the lease expires and the task is rescued; nothing is lost.
            Log.ReleaseFailed(logger, releaseError, task.Id);
        }
    }

    private async Task DrainAsync()
    {
        var running = _inFlight.Values.Select(v => v.Running).ToArray();
        Log.Draining(logger, WorkerId, running.Length, _options.ShutdownDeadline);
        try
        {
            await Task.WhenAll(running).WaitAsync(_options.ShutdownDeadline, timeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _workCancellation.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(running).ConfigureAwait(false);
            var leftover = _inFlight.Values.Select(v => v.Task).ToArray();
            try
            {
                using var releaseTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), timeProvider);
                var released = await queue.ReleaseAsync(WorkerId, leftover, "released at shutdown", releaseTimeout.Token).ConfigureAwait(false);
                Log.Released(logger, WorkerId, released);
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                Log.ReleaseAtShutdownFailed(logger, ex, leftover.Length);
            }
        }
    }

    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var tasks = _inFlight.Values.Select(v => v.Task).ToArray();
                try
                {
                    var held = await queue.ExtendLeasesAsync(WorkerId, tasks, _options.LeaseDuration, stoppingToken).ConfigureAwait(false);
                    if (held < tasks.Length)
                    {
                        Log.LeasesLost(logger, WorkerId, tasks.Length - held);
                    }
                }
                catch (NpgsqlException ex)
                {
                    Log.HeartbeatFailed(logger, ex, WorkerId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The drain is over: nothing is in flight any more.
        }
    }

    private async Task RescueAsync(CancellationToken stoppingToken)
    {
        try
        {
            var rescued = await queue.RescueExpiredAsync(stoppingToken).ConfigureAwait(false);
            if (rescued > 0)
            {
                Log.Rescued(logger, rescued);
            }
        }
        catch (NpgsqlException ex)
        {
            Log.RescueFailed(logger, ex);
        }
    }

    /// <summary>LISTEN for new work; reconnects after a database restart. Polling covers any gap.</summary>
    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, _) => Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {GenerationQueue.TasksChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException)
            {
                Log.ListenFailed(logger, ex);
                try
                {
                    await Task.Delay(_options.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static string Truncate(string message) => message.Length <= 2000 ? message : message[..2000];

    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Worker {WorkerId} started with up to {MaxInFlight} tasks in flight")]
        public static partial void WorkerStarted(ILogger logger, string workerId, int maxInFlight);

        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Worker {WorkerId} stopped")]
        public static partial void WorkerStopped(ILogger logger, string workerId);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Worker {WorkerId} could not claim tasks; retrying after the poll interval")]
        public static partial void ClaimFailed(ILogger logger, Exception exception, string workerId);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Task {TaskId} of run {RunId} failed on delivery {Attempts}")]
        public static partial void TaskErrored(ILogger logger, Exception exception, Guid taskId, Guid runId, int attempts);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Could not release task {TaskId}; its lease will expire and it will be rescued")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception, Guid taskId);

        [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Worker {WorkerId} draining {Count} in-flight tasks (deadline {Deadline})")]
        public static partial void Draining(ILogger logger, string workerId, int count, TimeSpan deadline);

        [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Worker {WorkerId} released {Count} unfinished tasks at shutdown")]
        public static partial void Released(ILogger logger, string workerId, int count);

        [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Could not release {Count} tasks at shutdown; their leases will expire")]
        public static partial void ReleaseAtShutdownFailed(ILogger logger, Exception exception, int count);

        [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Worker {WorkerId} lost the lease of {Count} tasks; another worker may deliver them again")]
        public static partial void LeasesLost(ILogger logger, string workerId, int count);

        [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Worker {WorkerId} could not renew its leases")]
        public static partial void HeartbeatFailed(ILogger logger, Exception exception, string workerId);

        [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Rescued {Count} tasks whose lease expired")]
        public static partial void Rescued(ILogger logger, int count);

        [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Could not rescue expired tasks")]
        public static partial void RescueFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "LISTEN connection lost; reconnecting (polling continues meanwhile)")]
        public static partial void ListenFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 7010, Level = LogLevel.Critical, Message = "{Problem}")]
        public static partial void WorkerRefused(ILogger logger, string problem);
    }
}
