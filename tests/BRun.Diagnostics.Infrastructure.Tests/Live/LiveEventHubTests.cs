using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests.Live;

public sealed class LiveEventHubTests : IAsyncLifetime
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(250);

    // Bounds a wait for the hub's loop; no speed is asserted.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly LiveEventHub _hub;

    public LiveEventHubTests() =>
        _hub = new LiveEventHub(Options.Create(new LiveEventOptions { BatchWindow = Window }), _time, NullLogger<LiveEventHub>.Instance);

    public Task InitializeAsync() => _hub.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _hub.StopAsync(CancellationToken.None);
        _hub.Dispose();
    }

    private static RunEvent Event(Guid runId) => new(RunEvent.TaskSucceeded, runId, Guid.NewGuid());

    /// <summary>Subscribes and returns the batches as they are delivered, one at a time.</summary>
    private System.Threading.Channels.ChannelReader<LiveEventBatch> Follow(out IDisposable subscription)
    {
        var delivered = System.Threading.Channels.Channel.CreateUnbounded<LiveEventBatch>();
        subscription = _hub.Subscribe(batch =>
        {
            delivered.Writer.TryWrite(batch);
            return Task.CompletedTask;
        });
        return delivered.Reader;
    }

    [Fact]
    public async Task An_event_after_a_quiet_period_is_delivered_at_once()
    {
        var delivered = Follow(out var subscription);
        using var following = subscription;
        var runId = Guid.NewGuid();

        // The clock does not move: a hub that waited for a window to end would never deliver.
        _hub.Publish(Event(runId));

        var batch = await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal([runId], batch.Events.Select(e => e.RunId));
    }

    [Fact]
    public async Task A_burst_after_a_delivery_is_delivered_as_one_batch_when_the_window_ends()
    {
        var delivered = Follow(out var subscription);
        using var following = subscription;
        _hub.Publish(Event(Guid.NewGuid()));
        await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        var runs = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();

        for (var i = 0; i < 300; i++)
        {
            _hub.Publish(Event(runs[i % 3]));
        }

        _time.Advance(Window);
        var batch = await delivered.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal((300, 3), (batch.Events.Count, batch.RunIds.Count));
    }

    [Fact]
    public async Task Events_within_an_open_window_wait_for_its_end()
    {
        var delivered = Follow(out var subscription);
        using var following = subscription;
        _hub.Publish(Event(Guid.NewGuid()));
        await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        var early = Guid.NewGuid();
        var late = Guid.NewGuid();

        _hub.Publish(Event(early));
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        _hub.Publish(Event(late));
        _time.Advance(TimeSpan.FromMilliseconds(1));

        // Both share the window the first delivery opened: had the hub delivered 'early' at once, 'late' would be missing.
        var batch = await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal([early, late], batch.Events.Select(e => e.RunId));
    }

    [Fact]
    public async Task After_a_window_that_collected_nothing_the_next_event_is_delivered_at_once_again()
    {
        var delivered = Follow(out var subscription);
        using var following = subscription;
        _hub.Publish(Event(Guid.NewGuid()));
        await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        _time.Advance(Window);
        var next = Guid.NewGuid();

        _hub.Publish(Event(next));

        var batch = await delivered.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal([next], batch.Events.Select(e => e.RunId));
    }

    [Fact]
    public async Task A_disposed_subscription_receives_nothing_while_others_still_do()
    {
        var disposedGotOne = false;
        var subscription = _hub.Subscribe(_ =>
        {
            disposedGotOne = true;
            return Task.CompletedTask;
        });
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var other = _hub.Subscribe(_ =>
        {
            delivered.TrySetResult();
            return Task.CompletedTask;
        });

        subscription.Dispose();
        _hub.Publish(Event(Guid.NewGuid()));
        _time.Advance(Window);
        await delivered.Task.WaitAsync(Patience);

        Assert.Equal((false, 1), (disposedGotOne, _hub.SubscriberCount));
    }

    [Fact]
    public async Task A_failing_subscriber_does_not_stop_delivery_to_the_others()
    {
        using var failing = _hub.Subscribe(_ => throw new InvalidOperationException("circuit gone"));
        var deliveries = new SemaphoreSlim(0);
        using var healthy = _hub.Subscribe(_ =>
        {
            deliveries.Release();
            return Task.CompletedTask;
        });

        // Two windows, the second opened only after the first was delivered (queued batches would be merged).
        _hub.Publish(Event(Guid.NewGuid()));
        _time.Advance(Window);
        Assert.True(await deliveries.WaitAsync(Patience));
        _hub.Publish(Event(Guid.NewGuid()));
        _time.Advance(Window);

        Assert.True(await deliveries.WaitAsync(Patience));
    }

    [Fact]
    public async Task Resync_reaches_subscribers_as_a_batch_that_concerns_every_run()
    {
        var delivered = new TaskCompletionSource<LiveEventBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = _hub.Subscribe(batch =>
        {
            delivered.TrySetResult(batch);
            return Task.CompletedTask;
        });

        _hub.PublishResync();
        _time.Advance(Window);

        var batch = await delivered.Task.WaitAsync(Patience);
        Assert.True(batch.Resync && batch.Concerns(Guid.NewGuid()));
    }
}
