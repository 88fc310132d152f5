using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Web.Tests.Failures;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BRun.Diagnostics.Web.Tests.Runs;

/// <summary>
/// A finished run to report on: 9 tasks, 3 succeeded, 4 failed (stored failures, two of them the same cluster), 2
/// cancelled, $0.1234 spent ($0.05 on failures), with hostile text where the API or the model could put any. The counters are set as the pipeline
/// would leave them (the pipeline itself is not what these tests are about).
/// </summary>
internal static class RunReportSeed
{
    public const string HostileContent = "I would put 10% aside </svg></pre><script>window.__pwned = 1; alert('x')</script> [click](javascript:alert(1)) | **now** \\";
    public const string HostileStopReason = "</svg><script>alert(1)</script>";

    public static async Task<Guid> SeedFinishedRunAsync(IServiceProvider services, NpgsqlDataSource superuser, Guid owner)
    {
        var run = await services.GetRequiredService<RunStore>().CreateAsync(owner, new CreateRunRequest(9, "default", "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
        var store = services.GetRequiredService<FailedGenerationStore>();
        await store.StoreAsync(owner, FailureSeed.Truncation(content: HostileContent, outputTokens: 1003, runId: run));
        await store.StoreAsync(owner, FailureSeed.Truncation(outputTokens: 987, runId: run));
        await store.StoreAsync(owner, FailureSeed.ApiError("upstream <b>reset</b> | # not a heading") with { RunId = run });
        await store.StoreAsync(owner, FailureSeed.Truncation(content: "A sentence that stops mid-w", outputTokens: 1190, runId: run) with
        {
            StopReason = HostileStopReason,
            TruncationPattern = "mid_word",
        });

        await using var command = superuser.CreateCommand("""
            UPDATE generation_tasks SET state = CASE WHEN seq < 3 THEN 'succeeded' WHEN seq < 7 THEN 'failed' ELSE 'cancelled' END,
                                        finished_at = now()
            WHERE run_id = @run;
            UPDATE failed_generations SET cost_usd = 0.0125 WHERE run_id = @run;
            UPDATE generation_runs SET status = 'completed', succeeded = 3, failed = 4, cancelled = 2, cost_usd = 0.1234, failed_cost_usd = 0.05,
                                       started_at = created_at + interval '2 seconds', finished_at = created_at + interval '4 minutes 32 seconds'
            WHERE id = @run;
            """);
        command.Parameters.AddWithValue("run", run);
        await command.ExecuteNonQueryAsync();
        return run;
    }
}
