using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests.RateLimits;

/// <summary>
/// Whole runs against the simulator with organisation limits, scaled down: the limits refill over 2 s instead of a
/// minute, so a run several windows long takes seconds. The simulator's own accounting is the judge.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class PacedRunTests(IntegrationEnvironment environment)
{
    private const int Tasks = 36;
    private const int MaxTokens = 2048;
    private const int OutputTokensPerWindow = 12_000;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Run_MuchLargerThanTheLimits_StoresEveryTaskOnceWithNoRateLimitFailure()
    {
        await using var harness = await StartAsync();
        var runId = await harness.CreateRunAsync(Tasks, maxTokens: MaxTokens);

        await harness.StartWorkerAsync(Paced);
        var run = await harness.WaitForRunAsync(runId);

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(Tasks, await harness.ScalarAsync<long>(
            "SELECT count(DISTINCT task_id) FROM (SELECT task_id FROM conversations WHERE run_id = @runId UNION ALL SELECT task_id FROM failed_generations WHERE run_id = @runId) s",
            new { runId }));
        Assert.Equal(Tasks, await harness.ScalarAsync<long>(
            "SELECT (SELECT count(*) FROM conversations WHERE run_id = @runId) + (SELECT count(*) FROM failed_generations WHERE run_id = @runId)",
            new { runId }));
        Assert.Equal(0, await harness.ScalarAsync<long>(
            "SELECT count(*) FROM failed_generations WHERE run_id = @runId AND (failure_type = 'api_error' OR http_status = 429)", new { runId }));
        var stats = harness.Simulator.RateLimitStats;
        Assert.Equal(0, stats.Rejected);
        Assert.True(stats.Calls.Sum(c => c.OutputTokens ?? 0) > 3 * OutputTokensPerWindow, "the run should need several windows' worth of output");
    }

    [Fact]
    public async Task TwoWorkersWithSeparatePools_TogetherStayUnderTheLimits()
    {
        await using var harness = await StartAsync();
        var runId = await harness.CreateRunAsync(Tasks, maxTokens: MaxTokens);

        var first = harness.Services(Paced);
        var second = harness.Services(Paced);
        await using (await StartedWorkers.StartAsync(first, second))
        {
            var run = await harness.WaitForRunAsync(runId);
            Assert.Equal(RunStatus.Completed, run.Status);
        }

        var stats = harness.Simulator.RateLimitStats;
        Assert.Equal(0, stats.Rejected);
        Assert.Equal(Tasks, stats.Admitted);
        Assert.True(first.GetRequiredService<RateLimitPacer>().Dispatched > 0, "the first worker should have made calls");
        Assert.True(second.GetRequiredService<RateLimitPacer>().Dispatched > 0, "the second worker should have made calls");
    }

    private Task<PipelineHarness> StartAsync() => PipelineHarness.StartAsync(environment, o =>
    {
        o.CompleteRate = 1;
        (o.MaxTokensRate, o.EndTurnCutRate, o.StreamCutRate, o.RefusalRate, o.RateLimitedRate, o.OverloadedRate) = (0, 0, 0, 0, 0, 0);
        o.RequestsPerMinute = 40;
        o.InputTokensPerMinute = 200_000;
        o.OutputTokensPerMinute = OutputTokensPerWindow;
        o.RateLimitWindow = Window;
        o.OutputTokensPerSecond = 20_000;
    });

    private static void Paced(Dictionary<string, string?> settings)
    {
        settings["Worker:MaxInFlight"] = "16";
        settings["RateLimits:Organization"] = "paced-run";
        settings["RateLimits:Window"] = Window.ToString();
        settings["RateLimits:MaxPollInterval"] = "00:00:00.020";
        // The margin is also how late a call may reach the simulator after its take: margin / (1 - margin) of the
        // window, 105 ms of this 2-second window at the default 5 % (3 s of a real minute). 25 % keeps two thirds of
        // a second for a busy machine.
        settings["RateLimits:Margin"] = "0.25";
    }

    /// <summary>Workers started from given providers, stopped on dispose.</summary>
    private sealed class StartedWorkers : IAsyncDisposable
    {
        private readonly BatchGenerationWorker[] _workers;

        private StartedWorkers(BatchGenerationWorker[] workers) => _workers = workers;

        public static async Task<StartedWorkers> StartAsync(params IServiceProvider[] providers)
        {
            var workers = providers.Select(p => p.GetRequiredService<BatchGenerationWorker>()).ToArray();
            foreach (var worker in workers)
            {
                await worker.StartAsync(CancellationToken.None);
            }

            return new StartedWorkers(workers);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var worker in _workers)
            {
                await worker.StopAsync(CancellationToken.None);
                worker.Dispose();
            }
        }
    }
}
