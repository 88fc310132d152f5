using System.Text.Json;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Batches;

/// <summary>Batch-mode runs end to end: real Postgres and Azurite, the simulator speaking the Message Batches API.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class BatchModeTests(IntegrationEnvironment environment)
{
    private static readonly SimulatorScenario[] Succeeding = [SimulatorScenario.Complete, SimulatorScenario.RateLimited, SimulatorScenario.Overloaded];

    private static Action<SimulatorOptions> Instant(Action<SimulatorOptions>? more = null) => o =>
    {
        o.BatchProcessingTime = TimeSpan.Zero;
        o.BatchExpiredRate = 0;
        o.BatchInvalidRequestRate = 0;
        more?.Invoke(o);
    };

    [Fact]
    public async Task MixedBatchRun_EndsWithExactCounts_AndOneOutcomePerTask()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        var runId = await harness.CreateRunAsync(60, mode: RunMode.Batch);
        var prompts = await harness.QueryAsync<string>("SELECT prompt FROM generation_tasks WHERE run_id = @runId", new { runId });
        var expectedOk = prompts.Count(p => Succeeding.Contains(SimulatorScenarioPicker.Pick(p, harness.SimulatorOptions, stream: false)));

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:MaxRequestsPerBatch"] = "25"), runId);

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(expectedOk, run.Succeeded);
        Assert.Equal(60 - expectedOk, run.Failed);
        Assert.Equal(expectedOk, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations WHERE run_id = @runId", new { runId }));
        Assert.Equal(60 - expectedOk, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE run_id = @runId", new { runId }));
        Assert.Equal(0, await harness.ScalarAsync<long>("""
            SELECT count(*) FROM generation_tasks t
            WHERE t.run_id = @runId AND (SELECT count(*) FROM conversations c WHERE c.task_id = t.id)
                                      + (SELECT count(*) FROM failed_generations f WHERE f.task_id = t.id) <> 1
            """, new { runId }));
        Assert.True(expectedOk is > 0 and < 60, "the default mix should produce both outcomes in 60 tasks");
    }

    [Fact]
    public async Task BatchOutcomes_AreCountedInTheTaskMetrics_AsTheOnlinePathCountsThem()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        var runId = await harness.CreateRunAsync(30, mode: RunMode.Batch);
        var services = harness.Services(BatchHarness.Fast());
        var finished = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            // Only this provider's meters: other tests in the process count their own tasks.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "brun.tasks.finished" && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var outcome = tags.ToArray().Single(t => t.Key == "brun.task.outcome").Value as string ?? "?";
            finished.AddOrUpdate(outcome, value, (_, total) => total + value);
        });
        listener.Start();

        var run = await harness.TickUntilFinishedAsync(ActivatorUtilities.CreateInstance<BatchCoordinator>(services), runId);

        Assert.True(run.Succeeded is > 0 and < 30, "the default mix should produce both outcomes in 30 tasks");
        Assert.Equal(run.Succeeded, finished.GetValueOrDefault("succeeded"));
        Assert.Equal(run.Failed, finished.GetValueOrDefault("failed"));
    }

    [Fact]
    public async Task BatchRunCost_IsAtTheBatchDiscount_AndTheOnlineEquivalentIsTwiceThat_WithEachResultRecordedAsASimulatedCall()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var runId = await harness.CreateRunAsync(4, mode: RunMode.Batch);

        await harness.TickUntilFinishedAsync(harness.Coordinator(), runId);

        var (cost, online, conversations) = (await harness.QueryAsync<(decimal Cost, decimal Online, decimal Conversations)>("""
            SELECT r.cost_usd, r.online_equivalent_cost_usd, (SELECT sum(cost_usd) FROM conversations c WHERE c.run_id = r.id)
            FROM generation_runs r WHERE r.id = @runId
            """, new { runId }))[0];
        Assert.True(cost > 0, "a priced model's results cost something");
        // Each call's batch and online costs are rounded to the column's 6 places on their own, hence the tolerance.
        Assert.Equal((double)(cost * 2), (double)online, 0.00001);
        Assert.Equal(cost, conversations, 5);

        // The durable capture: one generation_calls row per result line, the whole line as its raw body, the run's
        // cost equal to the calls' sum; the simulator's x-brun-simulated on the download marks every row.
        var calls = await harness.QueryAsync<(string Disposition, decimal? Cost, bool Simulated, string RawBody)>(
            "SELECT disposition, cost_usd, simulated, raw_body FROM generation_calls WHERE run_id = @runId", new { runId });
        Assert.Equal(4, calls.Count);
        Assert.All(calls, c => Assert.Equal("response", c.Disposition));
        Assert.All(calls, c => Assert.True(c.Simulated));
        Assert.All(calls, c => Assert.Contains("\"custom_id\"", c.RawBody, StringComparison.Ordinal));
        Assert.Equal(cost, calls.Sum(c => c.Cost ?? 0));
        Assert.Equal(4, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations WHERE run_id = @runId AND simulated", new { runId }));
    }

    [Fact]
    public async Task FirstSubmission_IsSplitByTheRequestLimit()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var runId = await harness.CreateRunAsync(12, mode: RunMode.Batch);

        await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:MaxRequestsPerBatch"] = "5"), runId);

        var sizes = await harness.QueryAsync<int>("SELECT request_count FROM message_batches WHERE run_id = @runId ORDER BY seq", new { runId });
        Assert.Equal([5, 5, 2], sizes);
    }

    [Fact]
    public async Task SucceededResultCutByMaxTokens_IsStoredAsAFailure_AndTheReportSaysTheBatchCalledItSucceeded()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        var template = await harness.AddTemplateAsync(SimulatorScenario.MaxTokens);
        var runId = await harness.CreateRunAsync(3, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(), runId);

        Assert.Equal(3, run.Failed);
        var rows = await harness.QueryAsync<(Guid Id, string FailureType, string StopReason, string BatchId, string CustomId, string ResultType, string TaskCustomId)>("""
            SELECT f.id, f.failure_type, f.stop_reason, f.batch_id, f.batch_custom_id, f.batch_result_type, t.custom_id
            FROM failed_generations f JOIN generation_tasks t ON t.id = f.task_id WHERE f.run_id = @runId
            """, new { runId });
        Assert.All(rows, r => Assert.Equal("truncation", r.FailureType));
        Assert.All(rows, r => Assert.Equal("max_tokens", r.StopReason));
        Assert.All(rows, r => Assert.Equal("succeeded", r.ResultType));
        Assert.All(rows, r => Assert.StartsWith("msgbatch_", r.BatchId, StringComparison.Ordinal));
        Assert.All(rows, r => Assert.Equal(r.TaskCustomId, r.CustomId));

        // A max_tokens answer was billed: its batch cost is on the failure, the run's failed cost and the run's cost.
        var (failedCost, runFailedCost, runCost, simulated) = (await harness.QueryAsync<(decimal FailedCost, decimal RunFailedCost, decimal RunCost, long Simulated)>("""
            SELECT (SELECT sum(cost_usd) FROM failed_generations WHERE run_id = r.id), r.failed_cost_usd, r.cost_usd,
                   (SELECT count(*) FROM failed_generations WHERE run_id = r.id AND simulated)
            FROM generation_runs r WHERE r.id = @runId
            """, new { runId }))[0];
        Assert.True(failedCost > 0, "a max_tokens answer has usage and a price");
        Assert.Equal(failedCost, runFailedCost);
        Assert.Equal(failedCost, runCost);
        Assert.Equal(3, simulated);

        var report = await harness.Default.GetRequiredService<FailedGenerationReader>().DownloadReportAsync(DbIdentity.System, rows[0].Id, CancellationToken.None);
        using var json = JsonDocument.Parse(report!.Content);
        var batch = json.RootElement.GetProperty("batch");
        Assert.Equal("succeeded", batch.GetProperty("result_type").GetString());
        Assert.Equal(rows[0].CustomId, batch.GetProperty("custom_id").GetString());
        Assert.Contains("\"succeeded\"", batch.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal(rows[0].CustomId, json.RootElement.GetProperty("raw_response").GetProperty("custom_id").GetString());
    }

    [Theory]
    [InlineData("[simulate:batch_expired]")]
    [InlineData("[simulate:overloaded]")]
    public async Task ExpiredOrTransientlyErroredResults_AreResubmitted_AndSucceedOnTheNextBatch(string marker)
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var template = await harness.AddMarkerTemplateAsync(marker);
        var runId = await harness.CreateRunAsync(4, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(), runId);

        Assert.Equal(4, run.Succeeded);
        Assert.Equal(2, await harness.ScalarAsync<long>("SELECT count(*) FROM message_batches WHERE run_id = @runId", new { runId }));
        Assert.Equal(4, await harness.ScalarAsync<long>("SELECT count(*) FROM generation_tasks WHERE run_id = @runId AND attempts = 2", new { runId }));

        // Each delivery is one recorded call: the first transient (unbilled), the second the answer.
        var calls = await harness.QueryAsync<(int Attempt, string Disposition, decimal? Cost)>(
            "SELECT attempt, disposition, cost_usd FROM generation_calls WHERE run_id = @runId ORDER BY attempt", new { runId });
        Assert.Equal(8, calls.Count);
        Assert.All(calls.Where(c => c.Attempt == 1), c => Assert.Equal(("transient", (decimal?)null), (c.Disposition, c.Cost)));
        Assert.All(calls.Where(c => c.Attempt == 2), c => Assert.Equal("response", c.Disposition));
    }

    [Fact]
    public async Task TransientErrorsThatNeverStop_AreGivenUpAsApiErrors_AfterMaxAttempts()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.TransientFailures = 100; }));
        var template = await harness.AddMarkerTemplateAsync("[simulate:overloaded]");
        var runId = await harness.CreateRunAsync(2, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:MaxAttempts"] = "3"), runId);

        Assert.Equal(2, run.Failed);
        Assert.Equal(3, await harness.ScalarAsync<long>("SELECT count(*) FROM message_batches WHERE run_id = @runId", new { runId }));
        Assert.Equal(2, await harness.ScalarAsync<long>(
            "SELECT count(*) FROM failed_generations WHERE run_id = @runId AND failure_type = 'api_error' AND batch_result_type = 'errored'", new { runId }));

        // The failure's attempt history lists all three deliveries, as an online api_error's does.
        var histories = await harness.QueryAsync<int>("SELECT jsonb_array_length(api_attempts) FROM failed_generations WHERE run_id = @runId", new { runId });
        Assert.Equal([3, 3], histories);
    }

    [Fact]
    public async Task PermanentlyErroredResults_AreApiErrorFailures_AndNotResubmitted()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var template = await harness.AddMarkerTemplateAsync("[simulate:batch_invalid_request]");
        var runId = await harness.CreateRunAsync(3, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(), runId);

        Assert.Equal(3, run.Failed);
        Assert.Equal(1, await harness.ScalarAsync<long>("SELECT count(*) FROM message_batches WHERE run_id = @runId", new { runId }));
        Assert.Equal(3, await harness.ScalarAsync<long>(
            "SELECT count(*) FROM failed_generations WHERE run_id = @runId AND failure_type = 'api_error' AND http_status = 400 AND batch_result_type = 'errored'", new { runId }));
    }

    [Fact]
    public async Task UnreadableResultLines_AreKeptAsTheyCame_AndTheirTasksSentAgain()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var template = await harness.AddMarkerTemplateAsync("[simulate:batch_unreadable_line]");
        var runId = await harness.CreateRunAsync(3, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(), runId);

        Assert.Equal(3, run.Succeeded);
        var batches = await harness.Default.GetRequiredService<MessageBatchStore>().ListForRunAsync(DbIdentity.User(harness.Owner.Id), runId, CancellationToken.None);
        Assert.Equal([(1, 3L, 3), (2, 3L, 0)], batches.Select(b => (b.Seq, b.ResultsLinesDone, b.ResultsLinesUnreadable)));

        // The lines as the API sent them: a custom_id of the first batch, cut short, with the zero bytes back in place.
        var store = harness.Default.GetRequiredService<MessageBatchStore>();
        var lines = await store.UnreadableLinesAsync(DbIdentity.User(harness.Owner.Id), runId, 1, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L], lines.Select(l => l.Line));
        Assert.All(lines, l =>
        {
            Assert.StartsWith("{\"custom_id\":\"", l.Text, StringComparison.Ordinal);
            Assert.EndsWith("\"content\":[\0\0", l.Text, StringComparison.Ordinal);
            Assert.StartsWith("A results line is not JSON", l.Reason, StringComparison.Ordinal);
        });
        Assert.Equal(
            (await harness.QueryAsync<Guid>("SELECT id FROM generation_tasks WHERE run_id = @runId", new { runId })).Select(id => BatchResultLine.CustomIdFor(id, 1)).Order(),
            lines.Select(l => l.Text.Split('"')[3]).Order());

        // Each task's first delivery left no call (nothing could be read); the second is its answer.
        Assert.Equal([(2, "response")], (await harness.QueryAsync<(int Attempt, string Disposition)>(
            "SELECT DISTINCT attempt, disposition FROM generation_calls WHERE run_id = @runId", new { runId })).ToList());

        // Another member sees neither the run's batches nor their lines.
        var other = await harness.Database.CreateUserAsync();
        Assert.Empty(await store.UnreadableLinesAsync(DbIdentity.User(other.Id), runId, 1, CancellationToken.None));
    }

    [Fact]
    public async Task TasksWhoseLinesAreNeverReadable_AreGivenUpAsApiErrors_AfterMaxAttempts_WithTheLineAsEvidence()
    {
        // Every delivery's line comes back damaged: before, the tasks were sent again in a new batch without end.
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.TransientFailures = 100; }));
        var template = await harness.AddMarkerTemplateAsync("[simulate:batch_unreadable_line]");
        var runId = await harness.CreateRunAsync(2, template, mode: RunMode.Batch);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:MaxAttempts"] = "3"), runId);

        Assert.Equal((0, 2), (run.Succeeded, run.Failed));
        Assert.Equal([2, 2, 2], await harness.QueryAsync<int>(
            "SELECT results_lines_unreadable FROM message_batches WHERE run_id = @runId ORDER BY seq", new { runId }));
        var failures = await harness.QueryAsync<(string Type, string Result, string CustomId, string RawBody, string Error)>("""
            SELECT failure_type, batch_result_type, batch_custom_id, raw_body, error_message FROM failed_generations WHERE run_id = @runId
            """, new { runId });
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f =>
        {
            Assert.Equal(("api_error", BatchResultType.Missing), (f.Type, f.Result));
            Assert.EndsWith("-3", f.CustomId, StringComparison.Ordinal);
            // The third delivery's damaged line, as kept with its batch (its zero bytes stored as U+FFFD).
            Assert.StartsWith($"{{\"custom_id\":\"{f.CustomId}\"", f.RawBody, StringComparison.Ordinal);
            Assert.Contains("given up", f.Error, StringComparison.Ordinal);
        });

        // Its RAW report says what happened rather than that the batch called it "missing".
        var id = await harness.ScalarAsync<Guid>("SELECT id FROM failed_generations WHERE run_id = @runId LIMIT 1", new { runId });
        var file = await harness.Default.GetRequiredService<FailedGenerationReader>().DownloadReportAsync(DbIdentity.System, id, CancellationToken.None);
        using var report = JsonDocument.Parse(file!.Content);
        Assert.StartsWith("The batch's results had no readable line", report.RootElement.GetProperty("batch").GetProperty("note").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TasksWithNoLineInTheResults_AreSentAgain_AndGivenUpWithAnEmptyBodyAfterMaxAttempts()
    {
        await using var once = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var onceRun = await once.CreateRunAsync(2, await once.AddMarkerTemplateAsync("[simulate:batch_missing_line]"), mode: RunMode.Batch);
        Assert.Equal(2, (await once.TickUntilFinishedAsync(once.Coordinator(), onceRun)).Succeeded);
        // The first batch's results were read three times (Batch:MaxShortResultsReads) before the two were taken as
        // missing; sent again in a second batch, whose lines answered them (the first delivery left no call).
        Assert.Equal([(1, 2, 0L), (2, 0, 2L)], (await once.QueryAsync<(int, int, long)>("""
            SELECT b.seq, b.results_short_reads,
                   (SELECT count(*) FROM generation_calls c WHERE c.run_id = b.run_id AND c.attempt = b.seq AND c.disposition = 'response')
            FROM message_batches b WHERE b.run_id = @runId ORDER BY b.seq
            """, new { runId = onceRun })).ToList());

        await using var never = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.TransientFailures = 100; }));
        var neverRun = await never.CreateRunAsync(2, await never.AddMarkerTemplateAsync("[simulate:batch_missing_line]"), mode: RunMode.Batch);
        var run = await never.TickUntilFinishedAsync(never.Coordinator(s => s["Batch:MaxAttempts"] = "2"), neverRun);

        Assert.Equal((0, 2), (run.Succeeded, run.Failed));
        Assert.Equal([("api_error", BatchResultType.Missing, string.Empty)], (await never.QueryAsync<(string, string, string)>(
            "SELECT DISTINCT failure_type, batch_result_type, raw_body FROM failed_generations WHERE run_id = @runId", new { runId = neverRun })).ToList());
    }

    [Fact]
    public async Task UnansweredTasksOfACancelledRun_AreCancelled_NotFailed_OnTheirLastDelivery()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.TransientFailures = 100; }));
        var runId = await harness.CreateRunAsync(2, await harness.AddMarkerTemplateAsync("[simulate:batch_missing_line]"), mode: RunMode.Batch);
        var coordinator = harness.Coordinator(s => s["Batch:MaxAttempts"] = "1");
        await coordinator.TickAsync(CancellationToken.None);

        Assert.True(await harness.Default.GetRequiredService<RunStore>().CancelAsync(DbIdentity.User(harness.Owner.Id), runId, CancellationToken.None));
        var run = await harness.TickUntilFinishedAsync(coordinator, runId);

        Assert.Equal((RunStatus.Cancelled, 0, 2), (run.Status, run.Failed, run.Cancelled));
    }

    [Fact]
    public async Task ResultsCutShortInTransfer_AreReadAgainFromTheCheckpoint_NotSentAgain()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var runId = await harness.CreateRunAsync(6, await harness.AddMarkerTemplateAsync("[simulate:batch_results_cut]"), mode: RunMode.Batch);

        // Chunks of one line: the first download commits its whole lines before the torn one.
        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:IngestChunkSize"] = "1"), runId);

        Assert.Equal(6, run.Succeeded);
        Assert.Equal([(1, 1, 6L, 0)], (await harness.QueryAsync<(int, int, long, int)>(
            "SELECT seq, results_short_reads, results_lines_done, results_lines_unreadable FROM message_batches WHERE run_id = @runId", new { runId })).ToList());
        // One delivery each, one call each: nothing was billed twice.
        Assert.Equal([(1, 6L)], (await harness.QueryAsync<(int, long)>(
            "SELECT attempt, count(*) FROM generation_calls WHERE run_id = @runId GROUP BY attempt", new { runId })).ToList());
    }

    [Fact]
    public async Task ResultsCanceledByOthers_AreResubmitted_WhileTheRunGoesOn()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.BatchProcessingTime = TimeSpan.FromHours(1); }));
        var runId = await harness.CreateRunAsync(3, mode: RunMode.Batch);
        var coordinator = harness.Coordinator();
        await coordinator.TickAsync(CancellationToken.None);
        var batchId = await harness.ScalarAsync<string>("SELECT anthropic_batch_id FROM message_batches WHERE run_id = @runId", new { runId });

        // Someone cancels the batch in the console; the next batch is quick.
        await harness.Default.GetRequiredService<IClaudeBatchesClient>().CancelAsync(batchId, CancellationToken.None);
        harness.SimulatorOptions.BatchProcessingTime = TimeSpan.Zero;
        var run = await harness.TickUntilFinishedAsync(coordinator, runId);

        Assert.Equal(3, run.Succeeded);
        Assert.Equal(2, await harness.ScalarAsync<long>("SELECT count(*) FROM message_batches WHERE run_id = @runId", new { runId }));
    }

    [Fact]
    public async Task CancelledRun_CancelsItsBatch_KeepsWhatFinished_AndCancelsTheRest()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => { OnlyComplete(o); o.BatchProcessingTime = TimeSpan.FromSeconds(4); }));
        var runId = await harness.CreateRunAsync(20, mode: RunMode.Batch);
        var coordinator = harness.Coordinator();
        await coordinator.TickAsync(CancellationToken.None);
        var batchId = await harness.ScalarAsync<string>("SELECT anthropic_batch_id FROM message_batches WHERE run_id = @runId", new { runId });
        var client = harness.Default.GetRequiredService<IClaudeBatchesClient>();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while ((await client.RetrieveAsync(batchId, deadline.Token)).Succeeded == 0)
            {
                await Task.Delay(20, deadline.Token);
            }
        }

        Assert.True(await harness.Default.GetRequiredService<RunStore>().CancelAsync(DbIdentity.User(harness.Owner.Id), runId, CancellationToken.None));
        var run = await harness.TickUntilFinishedAsync(coordinator, runId);

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(20, run.Succeeded + run.Failed + run.Cancelled);
        Assert.True(run.Succeeded > 0, "what had finished before the cancel is stored");
        Assert.True(run.Cancelled > 0, "what had not finished is cancelled");
        Assert.Equal(run.Succeeded, await harness.ScalarAsync<long>("SELECT count(*) FROM conversations WHERE run_id = @runId", new { runId }));
        Assert.True(await harness.ScalarAsync<bool>("SELECT cancel_requested FROM message_batches WHERE run_id = @runId", new { runId }));
        Assert.NotNull((await client.RetrieveAsync(batchId, CancellationToken.None)).CancelInitiatedAt);
    }

    [Fact]
    public async Task CrashAfterThePostBeforeItWasRecorded_IsReconciledFromTheList_NotSubmittedTwice()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var runId = await harness.CreateRunAsync(5, mode: RunMode.Batch);
        var store = harness.Default.GetRequiredService<MessageBatchStore>();
        var services = harness.Services(BatchHarness.Fast());

        // The intent commits and the POST reaches the API, then the process dies before recording the id.
        var submission = await store.RecordIntentAsync(runId, 100, 1 << 20, p => Params(p), CancellationToken.None);
        await services.GetRequiredService<IClaudeBatchesClient>().CreateAsync(submission!.Body, CancellationToken.None);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:ReconcileAfter"] = "00:00:00"), runId);

        Assert.Equal(5, run.Succeeded);
        Assert.Equal(1, harness.Simulator.BatchCount);
        Assert.Equal("submitted", await harness.ScalarAsync<string>("SELECT submission_state FROM message_batches WHERE run_id = @runId", new { runId }));
    }

    [Fact]
    public async Task CrashBeforeThePost_IsReconciledAsNeverSent_AndTheTasksGoInTheNextBatch()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant(o => OnlyComplete(o)));
        var runId = await harness.CreateRunAsync(5, mode: RunMode.Batch);
        await harness.Default.GetRequiredService<MessageBatchStore>().RecordIntentAsync(runId, 100, 1 << 20, p => Params(p), CancellationToken.None);

        var run = await harness.TickUntilFinishedAsync(harness.Coordinator(s => s["Batch:ReconcileAfter"] = "00:00:00"), runId);

        Assert.Equal(5, run.Succeeded);
        Assert.Equal(1, harness.Simulator.BatchCount);
        Assert.Equal(["abandoned", "submitted"], await harness.QueryAsync<string>(
            "SELECT submission_state FROM message_batches WHERE run_id = @runId ORDER BY seq", new { runId }));
    }

    [Fact]
    public async Task ALineRepeatedInTheNextChunk_IsStoredOnce_WhileThatChunkOverlapsTheCommitBeforeIt()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        var runId = await harness.CreateRunAsync(3, mode: RunMode.Batch);
        var services = harness.Services(BatchHarness.Fast(s => s["Batch:IngestChunkSize"] = "2"));
        var store = services.GetRequiredService<MessageBatchStore>();
        var submission = await store.RecordIntentAsync(runId, 3, long.MaxValue, Params, CancellationToken.None);
        Assert.NotNull(submission);
        await store.MarkSubmittedAsync(submission.BatchRowId, new MessageBatchInfo { Id = "msgbatch_repeated", ProcessingStatus = "ended" }, TimeSpan.Zero, CancellationToken.None);
        var customIds = await harness.QueryAsync<string>("SELECT custom_id FROM generation_tasks WHERE run_id = @runId ORDER BY seq", new { runId });
        static string Errored(string customId) =>
            """{"custom_id":"CUSTOM_ID","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"prompt is invalid"}}}}"""
                .Replace("CUSTOM_ID", customId, StringComparison.Ordinal);

        // Chunks of two: [a, b] and [a, c]. The second chunk shares a task with the one committing before it.
        var file = string.Join('\n', Errored(customIds[0]), Errored(customIds[1]), Errored(customIds[0]), Errored(customIds[2])) + "\n";
        var batch = (await store.ListForRunAsync(DbIdentity.System, runId, CancellationToken.None)).Single();
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(file));
        var summary = await services.GetRequiredService<BatchResultIngester>().IngestAsync(batch, stream, simulated: true, _ => Task.FromResult(true), CancellationToken.None);

        Assert.Equal((3, 1), (summary.Failed, summary.Skipped));
        Assert.Equal(3, await harness.ScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE run_id = @runId", new { runId }));
        Assert.Equal(3, await harness.ScalarAsync<int>("SELECT failed FROM generation_runs WHERE id = @runId", new { runId }));
        Assert.Equal(4, await harness.ScalarAsync<long>("SELECT results_lines_done FROM message_batches WHERE run_id = @runId", new { runId }));
    }

    [Fact]
    public async Task SubmittingABatch_AnnouncesBatchStatusForItsRun_SoTheRunPageReloadsItsBatchTable()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        var runId = await harness.CreateRunAsync(2, mode: RunMode.Batch);
        var store = harness.Default.GetRequiredService<MessageBatchStore>();
        var submission = await store.RecordIntentAsync(runId, 2, long.MaxValue, Params, CancellationToken.None);
        Assert.NotNull(submission);
        var announced = new TaskCompletionSource<RunEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await harness.Database.DataSource.OpenConnectionAsync();
        listener.Notification += (_, e) =>
        {
            if (RunEvents.TryDeserialize(e.Payload) is { Kind: MessageBatchStore.BatchStatusEvent } parsed)
            {
                announced.TrySetResult(parsed);
            }
        };
        await using (var listen = new Npgsql.NpgsqlCommand($"LISTEN {GenerationQueue.EventsChannel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        await store.MarkSubmittedAsync(submission.BatchRowId, new MessageBatchInfo { Id = "msgbatch_announced", ProcessingStatus = "in_progress" }, TimeSpan.Zero, CancellationToken.None);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!announced.Task.IsCompleted)
        {
            await listener.WaitAsync(bound.Token);
        }

        Assert.Equal(runId, (await announced.Task).RunId);
    }

    [Fact]
    public async Task OnlineWorker_NeverClaimsBatchModeTasks()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, Instant());
        await harness.CreateRunAsync(5, mode: RunMode.Batch);

        var claimed = await harness.Default.GetRequiredService<GenerationQueue>().ClaimAsync("w", 10, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Empty(claimed);
    }

    private static byte[] Params(BatchTaskParams p) => System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        model = p.Model,
        max_tokens = p.MaxTokens,
        messages = new[] { new { role = "user", content = p.Prompt } },
    }));

    private static void OnlyComplete(SimulatorOptions o)
    {
        o.CompleteRate = 1;
        o.MaxTokensRate = 0;
        o.EndTurnCutRate = 0;
        o.StreamCutRate = 0;
        o.RefusalRate = 0;
        o.RateLimitedRate = 0;
        o.OverloadedRate = 0;
    }
}
