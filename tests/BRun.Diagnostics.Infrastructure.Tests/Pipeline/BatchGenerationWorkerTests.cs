using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

[Collection(IntegrationEnvironment.Collection)]
public sealed class BatchGenerationWorkerTests(IntegrationEnvironment environment)
{
    private static readonly SimulatorScenario[] Succeeding = [SimulatorScenario.Complete, SimulatorScenario.RateLimited, SimulatorScenario.Overloaded];

    [Fact]
    public async Task Run_WithMixedOutcomes_StoresEachTaskInExactlyTheRightTable()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var runId = await harness.CreateRunAsync(60);
        var prompts = await harness.QueryAsync<string>("SELECT prompt FROM generation_tasks WHERE run_id = @runId", new { runId });
        var expected = prompts.Select(p => SimulatorScenarioPicker.Pick(p, harness.SimulatorOptions)).ToList();
        var expectedOk = expected.Count(Succeeding.Contains);

        await harness.StartWorkerAsync();
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(expectedOk, run.Succeeded);
        Assert.Equal(60 - expectedOk, run.Failed);
        Assert.Equal(expectedOk, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations WHERE run_id = @runId", new { runId }));
        Assert.Equal(60 - expectedOk, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE run_id = @runId", new { runId }));
        Assert.True(expectedOk is > 0 and < 60, "the default mix should produce both outcomes in 60 tasks");
    }

    [Fact]
    public async Task Run_WithMixedOutcomes_ClassifiesEachFailureByItsCause()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var runId = await harness.CreateRunAsync(60);
        var prompts = await harness.QueryAsync<(Guid Id, string Prompt)>("SELECT id, prompt FROM generation_tasks WHERE run_id = @runId", new { runId });

        await harness.StartWorkerAsync();
        await harness.WaitForRunAsync(runId);

        var stored = (await harness.QueryAsync<(Guid TaskId, string FailureType, string? Pattern)>(
            "SELECT task_id, failure_type, truncation_pattern FROM failed_generations WHERE run_id = @runId", new { runId }))
            .ToDictionary(r => r.TaskId);
        foreach (var (id, prompt) in prompts)
        {
            var scenario = SimulatorScenarioPicker.Pick(prompt, harness.SimulatorOptions);
            var expectedType = scenario switch
            {
                SimulatorScenario.MaxTokens or SimulatorScenario.EndTurnCut or SimulatorScenario.StreamCut => "truncation",
                SimulatorScenario.Refusal => "validation_error",
                _ => null,
            };
            Assert.Equal(expectedType, stored.TryGetValue(id, out var row) ? row.FailureType : null);
            if (scenario == SimulatorScenario.MaxTokens)
            {
                Assert.Equal("max_tokens", row.Pattern);
            }
            else if (scenario == SimulatorScenario.StreamCut)
            {
                Assert.Equal("stream_cut", row.Pattern);
            }
        }
    }

    [Fact]
    public async Task Run_AgainstTheSimulator_MarksEveryRowSimulated_AndCostsEveryCall()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var runId = await harness.CreateRunAsync(12);

        await harness.StartWorkerAsync();
        await harness.WaitForRunAsync(runId);

        Assert.Equal(0L, await harness.ScalarAsync<long>(
            "SELECT (SELECT count(*) FROM conversations WHERE NOT simulated OR cost_usd IS NULL) + (SELECT count(*) FROM failed_generations WHERE NOT simulated)"));
        Assert.True(await harness.ScalarAsync<bool>("SELECT bool_and(simulated) FROM generation_calls"));
        var run = await harness.QueryAsync<(decimal Cost, decimal FailedCost, decimal Calls, decimal Failures)>(
            """
            SELECT r.cost_usd, r.failed_cost_usd, (SELECT sum(cost_usd) FROM generation_calls WHERE run_id = r.id),
                   (SELECT COALESCE(sum(cost_usd), 0) FROM failed_generations WHERE run_id = r.id)
            FROM generation_runs r WHERE r.id = @runId
            """, new { runId });
        var (cost, failedCost, calls, failures) = Assert.Single(run);
        Assert.True(cost > 0);
        Assert.Equal(calls, cost);
        Assert.Equal(failures, failedCost);
    }

    [Fact]
    public async Task Run_WhenEveryResponseFails_GoesOnToTheEndAndStoresNoConversation()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var template = await harness.AddTemplateAsync(SimulatorScenario.EndTurnCut);
        var runId = await harness.CreateRunAsync(12, template);

        await harness.StartWorkerAsync();
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal((0, 12, RunStatus.Completed), (run.Succeeded, run.Failed, run.Status));
        Assert.Equal(0L, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations"));
        Assert.Equal(12L, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE failure_type = 'truncation'"));

        // Reports upload after the transaction that stores the failure and finishes the task (and, for the last task,
        // the run) commits, so the run can be seen finished a moment before its last upload lands.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long uploaded;
        while ((uploaded = await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE report_status = 'uploaded'")) < 12 && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
        }

        Assert.Equal(12L, uploaded);
    }

    [Fact]
    public async Task Run_WhenTheFailureStoreErrors_NeverLetsTheRejectedResponseIntoConversations()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var template = await harness.AddTemplateAsync(SimulatorScenario.MaxTokens);
        await harness.StartFailureStoreOutageAsync();

        var runId = await harness.CreateRunAsync(3, template);
        await harness.StartWorkerAsync(s => s["Worker:MaxDeliveryAttempts"] = "2");
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal(0L, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations"));
        Assert.Equal((0, 3), (run.Succeeded, run.Failed));
        Assert.Equal(2, await harness.ScalarAsync<int>("SELECT min(attempts) FROM generation_tasks WHERE run_id = @runId", new { runId }));
        Assert.All(
            await harness.QueryAsync<string>("SELECT last_error FROM generation_tasks WHERE run_id = @runId", new { runId }),
            e => Assert.Contains("gave up after 2 failed deliveries", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WhenTheFailureStoreErrors_CallsClaudeOncePerTask_AcrossRedeliveries()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var template = await harness.AddTemplateAsync(SimulatorScenario.MaxTokens);
        await harness.StartFailureStoreOutageAsync();

        var runId = await harness.CreateRunAsync(3, template);
        await harness.StartWorkerAsync(s => s["Worker:MaxDeliveryAttempts"] = "3");
        await harness.WaitForRunAsync(runId);

        // Three tasks, each delivered three times while the store was down: three calls at the fake Claude, not nine.
        Assert.Equal(3, await harness.ScalarAsync<int>("SELECT min(attempts) FROM generation_tasks WHERE run_id = @runId", new { runId }));
        Assert.Equal(3, harness.Simulator.RequestCount);
        Assert.Equal(3L, await harness.ScalarAsync<long>("SELECT count(*) FROM generation_calls WHERE run_id = @runId", new { runId }));
    }

    [Fact]
    public async Task TransientFaults_ThatOutlastTheRetries_EndAsApiErrorFailures()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var runId = await harness.CreateRunAsync(2, await harness.AddTemplateAsync(SimulatorScenario.RateLimitedPersistent));

        await harness.StartWorkerAsync(s => s["ApiRetry:MaxAttempts"] = "3");
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal((0, 2), (run.Succeeded, run.Failed));
        var rows = await harness.QueryAsync<(string FailureType, int HttpStatus, int Calls)>(
            "SELECT failure_type, http_status, jsonb_array_length(api_attempts) FROM failed_generations WHERE run_id = @runId", new { runId });
        Assert.All(rows, r => Assert.Equal(("api_error", 429, 3), r));
        Assert.Equal(6, harness.Simulator.RequestCount);
    }

    [Fact]
    public async Task TwoWorkers_OnOneDatabase_NeverProcessATaskTwice()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o => o.MaxLatency = TimeSpan.FromMilliseconds(20));
        var runId = await harness.CreateRunAsync(200);

        await harness.StartWorkerAsync(s => s["Worker:WorkerId"] = "worker-a");
        await harness.StartWorkerAsync(s => s["Worker:WorkerId"] = "worker-b");
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal(200, run.Succeeded + run.Failed);
        // A task is delivered again only after a transient API failure sent it back, so every delivery made exactly
        // one call: no two workers ever held the same task.
        Assert.Equal(0L, await harness.ScalarAsync<long>(
            "SELECT count(*) FROM generation_tasks t WHERE t.run_id = @runId AND t.attempts <> (SELECT count(*) FROM generation_calls c WHERE c.task_id = t.id)",
            new { runId }));
        Assert.Equal(200L, await harness.ScalarAsync<long>(
            "SELECT (SELECT count(*) FROM conversations WHERE run_id = @runId) + (SELECT count(*) FROM failed_generations WHERE run_id = @runId)", new { runId }));
    }

    [Fact]
    public async Task Cancel_DropsPendingTasks_LetsInFlightOnesFinish()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o =>
        {
            o.MinLatency = TimeSpan.FromMilliseconds(400);
            o.MaxLatency = TimeSpan.FromMilliseconds(400);
        });
        var runId = await harness.CreateRunAsync(40);
        await harness.StartWorkerAsync(s => s["Worker:MaxInFlight"] = "4");
        await PipelineHarness.WaitUntilAsync(async () => await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND state = 'running'", new { runId }) > 0);

        Assert.True(await harness.Default.GetRequiredService<RunStore>().CancelAsync(DbIdentity.System, runId, CancellationToken.None));
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.InRange(run.Cancelled, 1, 39);
        Assert.Equal(40, run.Succeeded + run.Failed + run.Cancelled);
        Assert.Equal(0L, await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND state IN ('available', 'running')", new { runId }));
    }

    [Fact]
    public async Task Shutdown_PastTheDeadline_ReleasesInFlightTasksForAnotherWorker()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o =>
        {
            o.MinLatency = TimeSpan.FromSeconds(30);
            o.MaxLatency = TimeSpan.FromSeconds(30);
        });
        var runId = await harness.CreateRunAsync(6);
        var worker = harness.Services(s =>
        {
            s["Worker:MaxInFlight"] = "4";
            s["Worker:ShutdownDeadline"] = "00:00:00.300";
        }).GetService(typeof(BatchGenerationWorker)) as BatchGenerationWorker ?? throw new InvalidOperationException();
        await worker.StartAsync(CancellationToken.None);
        await PipelineHarness.WaitUntilAsync(async () => await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND state = 'running'", new { runId }) == 4);

        await worker.StopAsync(CancellationToken.None);
        worker.Dispose();

        Assert.Equal(6L, await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND state = 'available' AND lease_owner IS NULL", new { runId }));
        Assert.Equal(0L, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations"));
    }

    [Fact]
    public async Task Shutdown_WithinTheDeadline_FinishesInFlightTasks()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o =>
        {
            o.MinLatency = TimeSpan.FromMilliseconds(500);
            o.MaxLatency = TimeSpan.FromMilliseconds(500);
        });
        var template = await harness.AddTemplateAsync(SimulatorScenario.Complete);
        var runId = await harness.CreateRunAsync(10, template);
        var worker = harness.Services(s => s["Worker:MaxInFlight"] = "4").GetService(typeof(BatchGenerationWorker)) as BatchGenerationWorker
            ?? throw new InvalidOperationException();
        await worker.StartAsync(CancellationToken.None);
        await PipelineHarness.WaitUntilAsync(async () => await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND state = 'running'", new { runId }) == 4);

        await worker.StopAsync(CancellationToken.None);
        worker.Dispose();

        var states = await harness.QueryAsync<string>("SELECT state FROM generation_tasks WHERE run_id = @runId", new { runId });
        Assert.DoesNotContain(TaskState.Running, states);
        Assert.InRange(states.Count(s => s == TaskState.Succeeded), 4, 10);
        Assert.Equal((long)states.Count(s => s == TaskState.Succeeded), await harness.ScalarAsync<long>("SELECT count(*) FROM conversations"));
    }
}
