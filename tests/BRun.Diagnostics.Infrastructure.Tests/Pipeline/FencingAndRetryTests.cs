using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Claude;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

/// <summary>
/// One outcome per task (the attempt number fences every write), durable capture before validation, and transient
/// API failures retried by the queue. Claude is a scripted server speaking the wire format, so answers differ per
/// call on purpose and calls are counted where they arrive.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class FencingAndRetryTests(IntegrationEnvironment environment)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("complete-000.json", "maxtok-000.json", "failed")]
    [InlineData("maxtok-000.json", "complete-000.json", "succeeded")]
    public async Task StaleDelivery_ThatGetsADifferentAnswer_StoresNothing(string staleAnswer, string redeliveryAnswer, string expectedState)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(200, staleAnswer) with { HoldUntil = release.Task },
            ScriptedReply.Json(200, redeliveryAnswer));
        // Limits known up front: with none, the held call would be the pacer's cold-start probe, which the redelivery
        // waits behind until the held call times out (30 s).
        await using var harness = await StartAsync(claude, s =>
        {
            s["RateLimits:RequestsPerMinute"] = "1000";
            s["RateLimits:InputTokensPerMinute"] = "10000000";
            s["RateLimits:OutputTokensPerMinute"] = "10000000";
        });
        var runId = await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();

        // Delivery 1 calls Claude; its answer is slow. Its lease lapses and the task is delivered again.
        var first = Assert.Single(await queue.ClaimAsync("slow-worker", 1, Lease, CancellationToken.None));
        var stale = handler.HandleAsync(first, CancellationToken.None);
        await claude.Hanging.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await harness.ExecuteAsync("UPDATE generation_tasks SET lease_expires_at = now() - interval '1 second'");
        Assert.Equal(1, await queue.RescueExpiredAsync(CancellationToken.None));
        var second = Assert.Single(await queue.ClaimAsync("fast-worker", 1, Lease, CancellationToken.None));

        // Delivery 2 gets the other answer and stores it; then delivery 1's answer arrives. The redelivery's outcome
        // stands: the stale one may not add a second outcome or overwrite the first.
        await handler.HandleAsync(second, CancellationToken.None);
        release.SetResult();
        await stale;

        var outcomes = await harness.ScalarAsync<long>(
            "SELECT (SELECT count(*) FROM conversations) + (SELECT count(*) FROM failed_generations)");
        Assert.Equal(1L, outcomes);
        Assert.Equal(expectedState, await harness.ScalarAsync<string>("SELECT state FROM generation_tasks"));
        var run = await harness.WaitForRunAsync(runId);
        Assert.Equal(1, run.Succeeded + run.Failed);
        // Both calls were paid for, so both count in the run's cost.
        Assert.Equal(2L, await harness.ScalarAsync<long>("SELECT count(*) FROM generation_calls"));
        Assert.Equal(
            await harness.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM generation_calls"),
            await harness.ScalarAsync<decimal>("SELECT cost_usd FROM generation_runs"));
    }

    [Fact]
    public async Task Redelivery_OfACapturedAnswer_IsStoredFromTheCapture_WithoutCallingClaude()
    {
        await using var claude = await ScriptedClaudeServer.StartAsync(ScriptedReply.Json(200, "maxtok-000.json"));
        await using var harness = await StartAsync(claude);
        await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();
        await harness.StartFailureStoreOutageAsync();

        var first = Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None));
        await Assert.ThrowsAsync<PostgresException>(() => handler.HandleAsync(first, CancellationToken.None));
        Assert.Equal(1, await queue.ReleaseAsync("w", [first], "store down", CancellationToken.None, countAsError: true));
        await harness.ExecuteAsync("ALTER TABLE failed_generations DROP CONSTRAINT outage");
        var second = Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None));
        await handler.HandleAsync(second, CancellationToken.None);

        Assert.Single(claude.Requests);
        Assert.Equal(1L, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE failure_type = 'truncation'"));
        Assert.Equal(TaskState.Failed, await harness.ScalarAsync<string>("SELECT state FROM generation_tasks"));
    }

    [Fact]
    public async Task TransientFailure_GoesBackToTheQueueUntilNotBefore_ThenSucceeds()
    {
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Json(200, "complete-000.json"));
        await using var harness = await StartAsync(claude, s =>
        {
            s["ApiRetry:BaseDelay"] = "01:00:00";
            s["ApiRetry:MaxDelay"] = "01:00:00";
        });
        var runId = await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();

        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);

        Assert.Equal(TaskState.Available, await harness.ScalarAsync<string>("SELECT state FROM generation_tasks"));
        Assert.True(await harness.ScalarAsync<bool>("SELECT not_before > now() + interval '40 minutes' FROM generation_tasks"));
        Assert.Empty(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None));
        Assert.Equal(0L, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations"));

        await harness.ExecuteAsync("UPDATE generation_tasks SET not_before = now()");
        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);

        var run = await harness.WaitForRunAsync(runId);
        Assert.Equal((1, 0), (run.Succeeded, run.Failed));
        Assert.Equal(new[] { 529, 200 }, await harness.QueryAsync<int>("SELECT http_status FROM generation_calls ORDER BY attempt"));
    }

    [Fact]
    public async Task RateLimit_WithRetryAfter_WaitsAtLeastThatLong()
    {
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "120"));
        await using var harness = await StartAsync(claude);
        await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();

        await harness.Default.GetRequiredService<IGenerationTaskHandler>()
            .HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);

        var wait = await harness.ScalarAsync<double>("SELECT extract(epoch FROM not_before - now()) FROM generation_tasks");
        Assert.InRange(wait, 110, 135);
        Assert.Equal(TaskState.Available, await harness.ScalarAsync<string>("SELECT state FROM generation_tasks"));
    }

    [Fact]
    public async Task PermanentError_AfterATransientOne_EndsAsApiError_ListingEveryCall()
    {
        var badRequest = new ScriptedReply(400, """{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"""u8.ToArray(), "application/json")
            .WithHeader("request-id", "req_permanent");
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json").WithHeader("request-id", "req_overloaded"),
            badRequest,
            ScriptedReply.Json(200, "complete-000.json"));
        await using var harness = await StartAsync(claude);
        var runId = await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();

        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);
        await harness.ExecuteAsync("UPDATE generation_tasks SET not_before = now()");
        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);

        Assert.Equal(2, claude.Requests.Count);
        var run = await harness.WaitForRunAsync(runId);
        Assert.Equal((0, 1), (run.Succeeded, run.Failed));
        Assert.Equal("api_error", await harness.ScalarAsync<string>("SELECT failure_type FROM failed_generations"));
        var attempts = await harness.QueryAsync<(int Status, string RequestId, string Disposition)>(
            "SELECT (a->>'http_status')::int, a->>'request_id', a->>'disposition' FROM failed_generations, jsonb_array_elements(api_attempts) a");
        Assert.Equal(new[] { (529, "req_overloaded", "transient"), (400, "req_permanent", "permanent") }, attempts);
    }

    [Fact]
    public async Task RetryBudget_OfAttempts_EndsTheTaskAsApiError()
    {
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Json(200, "complete-000.json"));
        await using var harness = await StartAsync(claude);
        var runId = await harness.CreateRunAsync(1);
        await harness.StartWorkerAsync(s => s["ApiRetry:MaxAttempts"] = "2");

        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal((0, 1), (run.Succeeded, run.Failed));
        Assert.Equal(2, claude.Requests.Count);
        Assert.Contains("retry budget spent after 2 calls", await harness.ScalarAsync<string>("SELECT truncation_details FROM failed_generations"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetryBudget_OfAge_EndsTheTaskWithoutAnotherCall()
    {
        await using var claude = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Json(200, "complete-000.json"));
        await using var harness = await StartAsync(claude);
        await harness.CreateRunAsync(1);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Handler(s => s["ApiRetry:MaxAge"] = "01:00:00");

        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);
        // Two hours pass (on the database's clock, which decides the age).
        await harness.ExecuteAsync("UPDATE generation_calls SET created_at = created_at - interval '2 hours'");
        await harness.ExecuteAsync("UPDATE generation_tasks SET not_before = now()");
        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);

        Assert.Single(claude.Requests);
        Assert.Equal("api_error", await harness.ScalarAsync<string>("SELECT failure_type FROM failed_generations"));
    }

    [Fact]
    public async Task StreamThatErrorsBeforeAnyContent_IsRetried_NotStoredAsAFailure()
    {
        const string ErroredStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        await using var claude = await ScriptedClaudeServer.StartAsync(
            new ScriptedReply(200, System.Text.Encoding.UTF8.GetBytes(ErroredStream), "text/event-stream"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        await using var harness = await StartAsync(claude);
        var runId = await harness.CreateRunAsync(1);
        await harness.StartWorkerAsync();

        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal((1, 0), (run.Succeeded, run.Failed));
        Assert.Equal(new[] { "transient", "response" }, await harness.QueryAsync<string>("SELECT disposition FROM generation_calls ORDER BY attempt"));
    }

    [Fact]
    public async Task Heartbeat_KeepsRenewingLeases_WhileInFlightTasksDrainAfterShutdownBegins()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var claude = await ScriptedClaudeServer.StartAsync(ScriptedReply.Json(200, "complete-000.json") with { HoldUntil = release.Task });
        await using var harness = await StartAsync(claude);
        var runId = await harness.CreateRunAsync(1);
        var worker = harness.Services(s =>
        {
            s["Worker:HeartbeatInterval"] = "00:00:00.500";
            s["Worker:LeaseDuration"] = "00:00:03";
            s["Worker:ShutdownDeadline"] = "00:01:00";
        }).GetRequiredService<BatchGenerationWorker>();
        await worker.StartAsync(CancellationToken.None);
        await claude.Hanging.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var stopping = worker.StopAsync(CancellationToken.None);
        var leaseAtShutdown = await harness.ScalarAsync<DateTime>("SELECT lease_expires_at FROM generation_tasks");
        await PipelineHarness.WaitUntilAsync(async () => await harness.ScalarAsync<DateTime>("SELECT lease_expires_at FROM generation_tasks") > leaseAtShutdown);
        release.SetResult();
        await stopping;
        worker.Dispose();

        var run = await harness.WaitForRunAsync(runId);
        Assert.Equal(1, run.Succeeded);
        Assert.Equal(1, await harness.ScalarAsync<int>("SELECT attempts FROM generation_tasks"));
    }

    private async Task<PipelineHarness> StartAsync(ScriptedClaudeServer claude, Action<Dictionary<string, string?>>? settings = null)
    {
        var harness = await PipelineHarness.StartAsync(environment);
        harness.ClaudeBaseUrl = claude.BaseUrl;
        harness.DefaultSettings = settings;
        return harness;
    }
}
