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

    [Fact]
    public async Task A_burst_within_one_window_is_delivered_as_one_batch()
    {
        var batches = new List<LiveEventBatch>();
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = _hub.Subscribe(batch =>
        {
            lock (batches)
            {
                batches.Add(batch);
            }

            delivered.TrySetResult();
            return Task.CompletedTask;
        });
        var runs = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();

        for (var i = 0; i < 300; i++)
        {
            _hub.Publish(Event(runs[i % 3]));
        }

        _time.Advance(Window);
        await delivered.Task.WaitAsync(Patience);

        var batch = Assert.Single(batches);
        Assert.Equal((300, 3), (batch.Events.Count, batch.RunIds.Count));
    }

    [Fact]
    public async Task Nothing_is_delivered_before_the_window_closes()
    {
        var delivered = new TaskCompletionSource<LiveEventBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = _hub.Subscribe(batch =>
        {
            delivered.TrySetResult(batch);
            return Task.CompletedTask;
        });
        var early = Guid.NewGuid();
        var late = Guid.NewGuid();

        _hub.Publish(Event(early));
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        _hub.Publish(Event(late));
        _time.Advance(TimeSpan.FromMilliseconds(1));

        // Both events share the window the first one opened: had the hub delivered early, 'late' would be missing.
        var batch = await delivered.Task.WaitAsync(Patience);
        Assert.Equal([early, late], batch.Events.Select(e => e.RunId));
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
