using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Batches;

/// <summary>
/// Drives a <see cref="BatchCoordinator"/> tick by tick (no hosted loop, no timers): each tick submits, reconciles,
/// polls and ingests whatever is due, so a test runs a batch run to its end as fast as the simulator answers.
/// </summary>
internal static class BatchHarness
{
    /// <summary>Batch settings for tests: no poll delays, tiny chunks so ingestion takes several transactions.</summary>
    public static Action<Dictionary<string, string?>> Fast(Action<Dictionary<string, string?>>? more = null) => s =>
    {
        s["Worker:Enabled"] = "false";
        s["Batch:MinPollInterval"] = "00:00:00";
        s["Batch:MaxPollInterval"] = "00:00:00";
        s["Batch:IngestChunkSize"] = "7";
        s["Batch:PollLease"] = "00:00:30";
        more?.Invoke(s);
    };

    public static BatchCoordinator Coordinator(this PipelineHarness harness, Action<Dictionary<string, string?>>? settings = null) =>
        ActivatorUtilities.CreateInstance<BatchCoordinator>(harness.Services(Fast(settings)));

    /// <summary>Ticks until the run has finished, or fails after <paramref name="maxTicks"/> (a stuck run, not a slow one).</summary>
    public static async Task<RunSnapshot> TickUntilFinishedAsync(this PipelineHarness harness, BatchCoordinator coordinator, Guid runId, int maxTicks = 400)
    {
        var runs = harness.Default.GetRequiredService<RunStore>();
        for (var tick = 0; tick < maxTicks; tick++)
        {
            await coordinator.TickAsync(CancellationToken.None);
            var run = await runs.GetAsync(DbIdentity.System, runId, CancellationToken.None) ?? throw new InvalidOperationException("run vanished");
            if (run.FinishedAt is not null)
            {
                return run;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"run {runId} did not finish within {maxTicks} ticks");
    }
}
