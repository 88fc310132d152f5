using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

/// <summary>At-least-once delivery, exactly-once storage, and the events a dashboard in another process follows.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class DeliveryTests(IntegrationEnvironment environment)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConcurrentDuplicateDeliveries_StoreOneConversation_AndCountItOnce()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var runId = await harness.CreateRunAsync(1, await harness.AddTemplateAsync(SimulatorScenario.Complete));
        var task = Assert.Single(await harness.Default.GetRequiredService<GenerationQueue>().ClaimAsync("w", 1, Lease, CancellationToken.None));
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();

        await Task.WhenAll(handler.HandleAsync(task, CancellationToken.None), handler.HandleAsync(task, CancellationToken.None));

        Assert.Equal(1L, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations WHERE task_id = @id", new { id = task.Id }));
        var run = await harness.WaitForRunAsync(runId);
        Assert.Equal((1, 0, RunStatus.Completed), (run.Succeeded, run.Failed, run.Status));
    }

    [Fact]
    public async Task Events_AreNotifiedForEveryTaskAndTheRunEnd_WithFailureIds()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var events = new List<RunEvent>();
        await using var listener = await harness.Database.DataSource.OpenConnectionAsync();
        listener.Notification += (_, e) =>
        {
            if (RunEvents.TryDeserialize(e.Payload) is { } parsed)
            {
                lock (events)
                {
                    events.Add(parsed);
                }
            }
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {GenerationQueue.EventsChannel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        var runId = await harness.CreateRunAsync(6, await harness.AddTemplateAsync(SimulatorScenario.Refusal));
        await harness.StartWorkerAsync();
        await harness.WaitForRunAsync(runId);
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!HasRunEnd(events))
        {
            await listener.WaitAsync(drain.Token);
        }

        lock (events)
        {
            Assert.Contains(events, e => e.Kind == "run_created" && e.RunId == runId && e.Total == 6);
            var failures = events.Where(e => e.Kind == RunEvent.TaskFailed).ToList();
            Assert.Equal(6, failures.Count);
            Assert.All(failures, e => Assert.NotNull(e.FailureId));
            Assert.Equal(Enumerable.Range(1, 6), failures.Select(e => e.Failed!.Value).Order());
            Assert.Contains(events, e => e.Kind == "run_finished" && e.Status == RunStatus.Completed && e.Failed == 6);
        }
    }

    private static bool HasRunEnd(List<RunEvent> events)
    {
        lock (events)
        {
            return events.Any(e => e.Kind == "run_finished");
        }
    }
}
