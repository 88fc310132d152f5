using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Live;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunEventListenerTests(IntegrationEnvironment env)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private sealed class Harness : IAsyncDisposable
    {
        private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _relistening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Harness(TestDatabase db)
        {
            Db = db;
            var options = Options.Create(new LiveEventOptions
            {
                BatchWindow = TimeSpan.FromMilliseconds(10),
                InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
                MaxReconnectDelay = TimeSpan.FromMilliseconds(100),
            });
            // Real time: the listener's backoff and the hub's window must actually elapse here.
            Hub = new LiveEventHub(options, TimeProvider.System, NullLogger<LiveEventHub>.Instance);
            Listener = new RunEventListener(db.DataSource, Hub, options, TimeProvider.System, NullLogger<RunEventListener>.Instance);
            Listener.Listening += (_, _) =>
            {
                if (!_listening.TrySetResult())
                {
                    _relistening.TrySetResult();
                }
            };
        }

        public TestDatabase Db { get; }

        public LiveEventHub Hub { get; }

        public RunEventListener Listener { get; }

        public async Task StartAsync()
        {
            await Hub.StartAsync(CancellationToken.None);
            await Listener.StartAsync(CancellationToken.None);
            await _listening.Task.WaitAsync(Patience);
        }

        public Task Relistening => _relistening.Task.WaitAsync(Patience);

        public async Task NotifyAsync(string payload)
        {
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            await connection.ExecuteAsync("SELECT pg_notify(@channel, @payload)", new { channel = GenerationQueue.EventsChannel, payload });
        }

        public async ValueTask DisposeAsync()
        {
            await Listener.StopAsync(CancellationToken.None);
            await Hub.StopAsync(CancellationToken.None);
            Listener.Dispose();
            Hub.Dispose();
            await Db.DisposeAsync();
        }
    }

    private static TaskCompletionSource<LiveEventBatch> FirstBatch(LiveEventHub hub, Func<LiveEventBatch, bool> match, out IDisposable subscription)
    {
        var received = new TaskCompletionSource<LiveEventBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription = hub.Subscribe(batch =>
        {
            if (match(batch))
            {
                received.TrySetResult(batch);
            }

            return Task.CompletedTask;
        });
        return received;
    }

    [Fact]
    public async Task A_published_run_event_reaches_hub_subscribers()
    {
        await using var h = new Harness(await env.CreateDatabaseAsync());
        await h.StartAsync();
        var runId = Guid.NewGuid();
        var received = FirstBatch(h.Hub, b => b.Events.Count > 0, out var subscription);
        using var _ = subscription;

        await h.NotifyAsync(RunEvents.Serialize(new RunEvent(RunEvent.TaskFailed, runId, Guid.NewGuid(), Guid.NewGuid(), "running", 10, 3, 1, 0)));

        var runEvent = Assert.Single((await received.Task.WaitAsync(Patience)).Events);
        Assert.Equal((runId, RunEvent.TaskFailed, 1), (runEvent.RunId, runEvent.Kind, runEvent.Failed));
    }

    [Fact]
    public async Task An_unreadable_payload_is_ignored_and_the_next_event_still_arrives()
    {
        await using var h = new Harness(await env.CreateDatabaseAsync());
        await h.StartAsync();
        var runId = Guid.NewGuid();
        var received = FirstBatch(h.Hub, b => b.Events.Count > 0, out var subscription);
        using var _ = subscription;

        await h.NotifyAsync("not json");
        await h.NotifyAsync(RunEvents.Serialize(RunEvent.RunCreated(runId, 5)));

        Assert.Equal(runId, Assert.Single((await received.Task.WaitAsync(Patience)).Events).RunId);
    }

    [Fact]
    public async Task After_its_connection_is_killed_the_listener_reconnects_asks_for_a_resync_and_receives_again()
    {
        await using var h = new Harness(await env.CreateDatabaseAsync());
        await h.StartAsync();
        var resync = FirstBatch(h.Hub, b => b.Resync, out var resyncSubscription);
        using var _ = resyncSubscription;

        // What a database restart does to the listener: its backend goes away.
        await using (var admin = await h.Db.DataSource.OpenConnectionAsync())
        {
            await admin.ExecuteAsync(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'");
        }

        await h.Relistening;
        await resync.Task.WaitAsync(Patience);
        var runId = Guid.NewGuid();
        var received = FirstBatch(h.Hub, b => b.Events.Any(e => e.RunId == runId), out var subscription);
        using var __ = subscription;
        await h.NotifyAsync(RunEvents.Serialize(RunEvent.RunCreated(runId, 1)));

        await received.Task.WaitAsync(Patience);
        Assert.Equal(2, h.Listener.ConnectedCount);
    }
}
