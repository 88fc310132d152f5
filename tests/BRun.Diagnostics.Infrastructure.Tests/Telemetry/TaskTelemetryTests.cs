using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Telemetry;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Telemetry;

/// <summary>
/// The task span and the outcome metrics, fed by a real worker against the simulator and a real database. Other tests
/// in this process emit the same source and meter, so spans are kept only from traces whose <c>task</c> span names
/// one of this test's runs, and measurements only from meters created by this test's service providers.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class TaskTelemetryTests(IntegrationEnvironment environment) : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentDictionary<object, bool> _meterScopes = new();
    private readonly ConcurrentDictionary<string, double> _measurements = new();
    private ActivityListener? _activityListener;
    private MeterListener? _meterListener;

    public void Dispose()
    {
        _activityListener?.Dispose();
        _meterListener?.Dispose();
    }

    [Fact]
    public async Task A_delivery_is_one_trace_whose_task_span_holds_claim_call_capture_validate_store_and_the_outcome_metrics_move_by_its_tasks()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var services = Listen(harness.Services());
        var complete = await harness.CreateRunAsync(2, await harness.AddTemplateAsync(SimulatorScenario.Complete));
        var cut = await harness.CreateRunAsync(1, await harness.AddTemplateAsync(SimulatorScenario.MaxTokens));
        var limited = await harness.CreateRunAsync(1, await harness.AddTemplateAsync(SimulatorScenario.RateLimited));
        var runs = new[] { complete, cut, limited }.Select(r => r.ToString()).ToHashSet();

        var worker = services.GetRequiredService<BatchGenerationWorker>();
        await worker.StartAsync(CancellationToken.None);
        try
        {
            foreach (var run in new[] { complete, cut, limited })
            {
                await harness.WaitForRunAsync(run);
            }

            // Counters move right after each outcome commits, and spans end after that: wait for the last of them.
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult(Measured("brun.tasks.finished") == 4));
            var deliveries = await harness.ScalarAsync<long>("SELECT sum(attempts) FROM generation_tasks");
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult(TaskSpans(runs).Count == deliveries));
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
            worker.Dispose();
        }

        var taskSpans = TaskSpans(runs);
        foreach (var taskId in await harness.QueryAsync<Guid>("SELECT id FROM generation_tasks WHERE run_id = @complete", new { complete }))
        {
            var task = Assert.Single(taskSpans, s => (string?)s.GetTagItem(TaskTracing.TaskIdTag) == taskId.ToString());
            Assert.Equal(complete.ToString(), task.GetTagItem(TaskTracing.RunIdTag));
            Assert.Equal("succeeded", task.GetTagItem("brun.task.outcome"));
            Assert.Equal(default, task.ParentSpanId);

            var children = _spans.Where(s => s.TraceId == task.TraceId && s.ParentSpanId == task.SpanId).ToList();
            var ours = children.Where(s => s.Source.Name == DiagnosticsTelemetry.SourceName).OrderBy(s => s.StartTimeUtc).Select(s => s.DisplayName);
            Assert.Equal(new[] { "claim", "chat claude-sonnet-4-5", "capture", "validate", "store" }, ours);

            // The database work of the delivery joins its trace: the fenced store's statements sit under "store".
            var store = Assert.Single(children, s => s.DisplayName == "store");
            Assert.Contains(_spans, s => s.Source.Name == "Npgsql" && s.TraceId == task.TraceId && s.ParentSpanId == store.SpanId);
            var claim = Assert.Single(children, s => s.DisplayName == "claim");
            Assert.Equal(task.StartTimeUtc, claim.StartTimeUtc);
            Assert.Single(claim.Links);
        }

        var truncation = Assert.Single(taskSpans, s => (string?)s.GetTagItem(TaskTracing.RunIdTag) == cut.ToString());
        Assert.Equal(("failed", "truncation"), (truncation.GetTagItem("brun.task.outcome"), truncation.GetTagItem("brun.failure_type")));
        var limitedSpans = taskSpans.Where(s => (string?)s.GetTagItem(TaskTracing.RunIdTag) == limited.ToString()).ToList();
        Assert.Equal("succeeded", limitedSpans.OrderBy(s => s.StartTimeUtc).Last().GetTagItem("brun.task.outcome"));
        Assert.All(limitedSpans.SkipLast(1), s => Assert.Equal("retry_later", s.GetTagItem("brun.task.outcome")));

        // Every call of every delivery is a GenAI chat span inside its task span, matching the call that was stored.
        var calls = await harness.QueryAsync<(string RequestId, int? OutputTokens)>("SELECT request_id, output_tokens FROM generation_calls");
        var chats = _spans.Where(s => s.Kind == ActivityKind.Client && s.Source.Name == DiagnosticsTelemetry.SourceName
            && taskSpans.Any(t => t.TraceId == s.TraceId && t.SpanId == s.ParentSpanId)).ToList();
        Assert.Equal(calls.Count, chats.Count);
        foreach (var (requestId, outputTokens) in calls)
        {
            var chat = Assert.Single(chats, c => (string?)c.GetTagItem("brun.request_id") == requestId);
            Assert.Equal(("anthropic", "chat"), (chat.GetTagItem("gen_ai.provider.name"), chat.GetTagItem("gen_ai.operation.name")));
            Assert.Equal(outputTokens, (int?)chat.GetTagItem("gen_ai.usage.output_tokens"));
        }

        Assert.Equal(calls.Sum(c => c.OutputTokens ?? 0), Measured("gen_ai.client.token.usage", "gen_ai.token.type=output"));
        var pattern = await harness.ScalarAsync<string>("SELECT truncation_pattern FROM failed_generations");
        var requeues = await harness.ScalarAsync<long>("SELECT count(*) FROM generation_calls WHERE disposition = 'transient'");
        Assert.Equal(3, Measured("brun.tasks.finished", "brun.task.outcome=succeeded"));
        Assert.Equal(1, Measured("brun.tasks.finished", "brun.task.outcome=failed", "brun.failure_type=truncation"));
        Assert.Equal(1, Measured("brun.truncations", $"brun.truncation.pattern={pattern}", "brun.stop_reason=max_tokens"));
        Assert.True(requeues >= 1);
        Assert.Equal(requeues, Measured("brun.claude.retries", "brun.retry.kind=queue"));
        Assert.Equal(limitedSpans.Count - 1, requeues);
    }

    [Fact]
    public async Task An_idle_worker_polls_without_spans_and_only_a_claim_that_found_work_is_traced()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var services = Listen(harness.Services(s => s["Worker:PollInterval"] = "00:00:00.050"));
        var worker = services.GetRequiredService<BatchGenerationWorker>();
        await worker.StartAsync(CancellationToken.None);
        try
        {
            // Many empty polls first: the loop stamps each turn.
            var turns = new HashSet<long>();
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult(turns.Add(worker.LastLoopTimestamp) && turns.Count >= 10));
            var runId = await harness.CreateRunAsync(1);
            await harness.WaitForRunAsync(runId);
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult(TaskSpans([runId.ToString()]).Count == 1));
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
            worker.Dispose();
        }

        var claims = _spans.Where(s => s.Source.Name == DiagnosticsTelemetry.SourceName && s.DisplayName == TaskTracing.ClaimSpan
            && s.ParentSpanId == default && (string?)s.GetTagItem(TaskTracing.WorkerIdTag) == worker.WorkerId).ToList();
        var claim = Assert.Single(claims);
        Assert.Equal(1, claim.GetTagItem("brun.claim.count"));
        Assert.DoesNotContain(_spans, s => s.Source.Name == "Npgsql"
            && ((s.GetTagItem("db.query.text") ?? s.GetTagItem("db.statement")) as string ?? "").Contains("attempts = t.attempts + 1, lease_owner", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_rescues_fenced_out_deliveries_and_cancelled_tasks_are_counted()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var services = Listen(harness.Services());
        var queue = services.GetRequiredService<GenerationQueue>();
        var handler = services.GetRequiredService<IGenerationTaskHandler>();
        var lease = TimeSpan.FromSeconds(30);
        var template = await harness.AddTemplateAsync(SimulatorScenario.Complete);
        await harness.CreateRunAsync(1, template);

        // Delivery 1 stalls past its lease; the task is rescued and delivered again; delivery 1 then tries to store.
        var first = Assert.Single(await queue.ClaimAsync("stalled-worker", 1, lease, CancellationToken.None));
        await harness.ExecuteAsync("UPDATE generation_tasks SET lease_expires_at = now() - interval '1 second'");
        Assert.Equal(1, await queue.RescueExpiredAsync(CancellationToken.None));
        var second = Assert.Single(await queue.ClaimAsync("live-worker", 1, lease, CancellationToken.None));
        await handler.HandleAsync(first, CancellationToken.None);
        await handler.HandleAsync(second, CancellationToken.None);

        var cancelled = await harness.CreateRunAsync(3, template);
        Assert.True(await services.GetRequiredService<RunStore>().CancelAsync(DbIdentity.System, cancelled, CancellationToken.None));

        Assert.Equal(1, Measured("brun.queue.lease_rescues"));
        Assert.Equal(1, Measured("brun.tasks.finished", "brun.task.outcome=fenced_out"));
        Assert.Equal(1, Measured("brun.tasks.finished", "brun.task.outcome=succeeded"));
        Assert.Equal(3, Measured("brun.tasks.finished", "brun.task.outcome=cancelled"));
        Assert.Equal(1L, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations"));
    }

    /// <summary>Starts listening to the spans of every delivery and to the meters of <paramref name="services"/>.</summary>
    private IServiceProvider Listen(IServiceProvider services)
    {
        _meterScopes[services.GetRequiredService<IMeterFactory>()] = true;
        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == DiagnosticsTelemetry.MeterName && instrument.Meter.Scope is { } scope && _meterScopes.ContainsKey(scope))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meterListener.Start();

        _activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is DiagnosticsTelemetry.SourceName or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_activityListener);
        return services;
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = instrument.Name + "|" + string.Join("|", tags.ToArray().Select(t => $"{t.Key}={t.Value}").Order(StringComparer.Ordinal));
        _measurements.AddOrUpdate(key, value, (_, total) => total + value);
    }

    /// <summary>The total of an instrument over the measurements that carry every one of <paramref name="tags"/> (key=value).</summary>
    private double Measured(string instrument, params string[] tags) =>
        _measurements
            .Where(m => m.Key.Split('|') is var parts && parts[0] == instrument && tags.All(parts.Skip(1).Contains))
            .Sum(m => m.Value);

    private List<Activity> TaskSpans(HashSet<string> runs) =>
        _spans.Where(s => s.Source.Name == DiagnosticsTelemetry.SourceName && s.DisplayName == TaskTracing.TaskSpan
            && s.GetTagItem(TaskTracing.RunIdTag) is string run && runs.Contains(run)).ToList();
}
