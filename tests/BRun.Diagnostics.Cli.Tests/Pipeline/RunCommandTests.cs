using System.Text.Json;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests.Pipeline;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunCommandTests(IntegrationEnvironment environment) : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private string _email = null!;
    private Guid _owner;

    public async Task InitializeAsync()
    {
        _db = await environment.CreateDatabaseAsync();
        var user = await _db.CreateUserAsync();
        (_email, _owner) = (user.Email, user.Id);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Create_PrintsTheRunIdAlone_AndStatusReportsItsCounts()
    {
        var (exit, stdout, stderr) = await BrunAsync("run", "create", "--count", "7", "--user", _email, "--max-tokens", "2048");
        Assert.True(exit == 0, stderr);
        var runId = Guid.Parse(stdout.Trim());

        var status = await BrunAsync("run", "status", runId.ToString(), "--format", "json");

        Assert.Equal(0, status.ExitCode);
        using var json = JsonDocument.Parse(status.StandardOutput);
        Assert.Equal("running", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(7, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("succeeded").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("pending").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("rate_limit").ValueKind);
        Assert.Equal(0m, json.RootElement.GetProperty("cost_usd").GetDecimal());
        Assert.Equal(0m, json.RootElement.GetProperty("failed_cost_usd").GetDecimal());
    }

    [Fact]
    public async Task Status_OfARunHeldBackByA429_SaysItIsWaitingOnTheRateLimitAndUntilWhen()
    {
        var runId = (await BrunAsync("run", "create", "--count", "3", "--user", _email, "--model", "claude-sonnet-4-5")).StandardOutput.Trim();
        await using (var connection = await _db.DataSource.OpenConnectionAsync())
        {
            await using var block = connection.CreateCommand();
            block.CommandText = """
                INSERT INTO rate_limit_state (scope, model, blocked_until, blocked_reason)
                VALUES ('key-test:claude-sonnet-4.x', 'claude-sonnet-4.x', now() + interval '30 seconds', '429 rate_limit_error')
                """;
            await block.ExecuteNonQueryAsync();
        }

        var json = await BrunAsync("run", "status", runId, "--format", "json");
        var text = await BrunAsync("run", "status", runId);

        using var parsed = JsonDocument.Parse(json.StandardOutput);
        var rateLimit = parsed.RootElement.GetProperty("rate_limit");
        Assert.Equal("rate_limited", rateLimit.GetProperty("reason").GetString());
        Assert.InRange(rateLimit.GetProperty("until").GetDateTimeOffset() - TimeProvider.System.GetUtcNow(), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(31));
        Assert.Contains("waiting on a rate limit (rate_limited) until", text.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_OfABatchRun_CountsItsUnreadableResultsLines_AndSaysWhereToReadThem()
    {
        var runId = (await BrunAsync("run", "create", "--count", "2", "--user", _email, "--mode", "batch")).StandardOutput.Trim();
        await using (var connection = await _db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO message_batches (run_id, seq, anthropic_batch_id, submission_state, request_count, processing_status,
                                             count_succeeded, results_lines_done, results_lines_unreadable, ingest_state)
                VALUES (@runId, 1, 'msgbatch_01cli', 'submitted', 2, 'ended', 2, 2, 1, 'done'),
                       (@runId, 2, 'msgbatch_02cli', 'submitted', 1, 'ended', 1, 1, 0, 'done')
                """, new { runId = Guid.Parse(runId) });
        }

        var json = await BrunAsync("run", "status", runId, "--format", "json");
        var text = await BrunAsync("run", "status", runId);

        using var parsed = JsonDocument.Parse(json.StandardOutput);
        Assert.Equal([1, 0], parsed.RootElement.GetProperty("batches").EnumerateArray().Select(b => b.GetProperty("results_unreadable").GetInt32()));
        var lines = text.StandardOutput.Split('\n').Where(l => l.Contains("  batch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.EndsWith($"; 1 results line unreadable (GET /api/runs/{runId}/batches/1/unreadable-lines)", lines[0].TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("unreadable", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_WithNoKeyAndNoDemoMode_RefusesToStart_SayingWhyInOneLine()
    {
        var (exit, stdout, stderr) = await BrunAsync("worker");

        Assert.Equal(1, exit);
        Assert.Empty(stdout.Trim());
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("ANTHROPIC_API_KEY", line, StringComparison.Ordinal);
        Assert.Contains("Demo__Enabled=true", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requeue_OfAWholeRun_ByFailureType_AddsOneTaskPerMatchingFailure_Once()
    {
        var runId = Guid.Parse((await BrunAsync("run", "create", "--count", "3", "--user", _email)).StandardOutput.Trim());
        await using (var connection = await _db.DataSource.OpenConnectionAsync())
        {
            // Three failed tasks: two API errors (an outage) and one truncation.
            await connection.ExecuteAsync(
                """
                UPDATE generation_tasks SET state = 'failed', finished_at = now() WHERE run_id = @runId;
                UPDATE generation_runs SET failed = 3, status = 'completed', finished_at = now() WHERE id = @runId;
                INSERT INTO failed_generations (id, run_id, task_id, prompt, prompt_length, model, max_tokens, raw_response, raw_body,
                                                http_status, streamed, failure_type, detection_confidence, created_by)
                SELECT gen_random_uuid(), t.run_id, t.id, t.prompt, length(t.prompt), 'claude-sonnet-4-5', 4096, '{}', '', 529, false,
                       CASE WHEN t.seq = 0 THEN 'truncation' ELSE 'api_error' END, 'high', r.created_by
                FROM generation_tasks t JOIN generation_runs r ON r.id = t.run_id WHERE t.run_id = @runId;
                """,
                new { runId });
        }

        var first = await BrunAsync("run", "requeue", "--run", runId.ToString(), "--failure-type", "api_error");
        var again = await BrunAsync("run", "requeue", "--run", runId.ToString(), "--failure-type", "api_error");
        var status = await BrunAsync("run", "status", runId.ToString(), "--format", "json");

        Assert.Equal((0, "2"), (first.ExitCode, first.StandardOutput.Trim()));
        Assert.Equal((1, "0"), (again.ExitCode, again.StandardOutput.Trim()));
        using var json = JsonDocument.Parse(status.StandardOutput);
        Assert.Equal("running", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(2, json.RootElement.GetProperty("pending").GetInt32());
    }

    [Fact]
    public async Task Requeue_WithBothATaskAndARun_IsAUsageError()
    {
        var (exit, _, stderr) = await BrunAsync("run", "requeue", Guid.NewGuid().ToString(), "--run", Guid.NewGuid().ToString());

        Assert.Equal(2, exit);
        Assert.Contains("either TASK_ID or --run", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ForAnUnknownUser_ExitsWithUsageError()
    {
        var (exit, stdout, stderr) = await BrunAsync("run", "create", "--count", "3", "--user", "nobody@example.test");

        Assert.Equal(2, exit);
        Assert.Empty(stdout.Trim());
        Assert.Contains("brun user create", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_OnARunNobodyWorksOn_TimesOutWithExitOne()
    {
        var runId = (await BrunAsync("run", "create", "--count", "2", "--user", _email)).StandardOutput.Trim();

        var (exit, _, stderr) = await BrunAsync("run", "wait", runId, "--timeout", "1");

        Assert.Equal(1, exit);
        Assert.Contains("still running", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_DropsThePendingTasks_AndWaitThenReturnsAtOnce()
    {
        var runId = (await BrunAsync("run", "create", "--count", "4", "--user", _email)).StandardOutput.Trim();

        var cancel = await BrunAsync("run", "cancel", runId);
        var again = await BrunAsync("run", "cancel", runId);
        var wait = await BrunAsync("run", "wait", runId, "--timeout", "10");

        Assert.Equal((0, 1), (cancel.ExitCode, again.ExitCode));
        Assert.Equal(0, wait.ExitCode);
        using var json = JsonDocument.Parse(wait.StandardOutput);
        Assert.Equal("cancelled", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("cancelled").GetInt32());
    }

    /// <summary>A run of three failed tasks for <c>run rerun</c>: seq 0 truncated, the others API errors.</summary>
    private async Task<Guid> FailedRunAsync()
    {
        var runId = Guid.Parse((await BrunAsync("run", "create", "--count", "3", "--user", _email, "--max-tokens", "1024")).StandardOutput.Trim());
        await FailedTaskSeed.FailTasksAsync(_db.DataSource, _owner, runId, [0], "truncation", inputTokens: 500);
        await FailedTaskSeed.FailTasksAsync(_db.DataSource, _owner, runId, [1, 2], "api_error", inputTokens: 500);
        return runId;
    }

    [Fact]
    public async Task Rerun_CreatesANewRunOfTheMatchingFailures_WithTheNewMaxTokens_AndPrintsItsId()
    {
        var source = await FailedRunAsync();

        var (exit, stdout, stderr) = await BrunAsync("run", "rerun", "--run-id", source.ToString(), "--failure-type", "api_error", "--max-tokens", "8192", "--user", _email);

        Assert.True(exit == 0, stderr);
        var status = await BrunAsync("run", "status", stdout.Trim(), "--format", "json");
        using var json = JsonDocument.Parse(status.StandardOutput);
        Assert.Equal((2, 2), (json.RootElement.GetProperty("total").GetInt32(), json.RootElement.GetProperty("pending").GetInt32()));
        Assert.Contains("max_tokens 8,192", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rerun_DryRun_PrintsTheCountAndEstimatedCost_AndCreatesNothing()
    {
        var source = await FailedRunAsync();

        var (exit, stdout, stderr) = await BrunAsync("run", "rerun", "--run-id", source.ToString(), "--max-tokens", "2000", "--dry-run", "--user", _email);

        Assert.True(exit == 0, stderr);
        // claude-sonnet-4-5: 3 x (500 in at $3/MTok + 2,000 out at $15/MTok) = $0.0945.
        Assert.Contains("Re-run of 3 failed generations", stdout, StringComparison.Ordinal);
        Assert.Contains("estimated cost at most $0.0945", stdout, StringComparison.Ordinal);
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM generation_runs"));
    }

    [Fact]
    public async Task Rerun_OfNothingMatching_IsExitOneWithOneLine()
    {
        await FailedRunAsync();

        var (exit, _, stderr) = await BrunAsync("run", "rerun", "--source-model", "claude-opus-4-5", "--user", _email);

        Assert.Equal(1, exit);
        Assert.Contains("nothing to re-run", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rerun_WithAnUnknownTemplate_IsAUsageError()
    {
        await FailedRunAsync();

        var (exit, _, stderr) = await BrunAsync("run", "rerun", "--template", "no-such-template", "--user", _email);

        Assert.Equal(2, exit);
        Assert.Contains("no-such-template", stderr, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> BrunAsync(params string[] arguments) =>
        BrunProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = _db.ConnectionString,
                ["ConnectionStrings__Blobs"] = environment.Azurite.ConnectionString,
            },
            arguments);
}
