using System.Net;
using System.Text;
using System.Text.Json;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>Batch mode over HTTP: POST /api/runs with a mode, GET /api/runs/{id} and GET /api/runs/{id}/batches.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RunBatchesApiTests(IntegrationEnvironment env)
{
    /// <summary>A batch-mode run of <paramref name="count"/> tasks, all in one batch the API accepted as <c>msgbatch_…</c>.</summary>
    internal static async Task<(Guid RunId, string BatchId)> CreateSubmittedBatchRunAsync(DashboardHost host, Guid owner, int count)
    {
        var runId = await host.Services.GetRequiredService<RunStore>().CreateAsync(
            owner, new CreateRunRequest(count, "default", "claude-sonnet-4-5", 1024, 0.5m, RunMode.Batch), CancellationToken.None);
        var store = host.Services.GetRequiredService<MessageBatchStore>();
        var submission = await store.RecordIntentAsync(runId, count, long.MaxValue, _ => Encoding.UTF8.GetBytes("{}"), CancellationToken.None);
        Assert.NotNull(submission);
        var batchId = "msgbatch_" + Guid.NewGuid().ToString("N");
        await store.MarkSubmittedAsync(submission.BatchRowId, new MessageBatchInfo
        {
            Id = batchId,
            ProcessingStatus = "in_progress",
            Processing = count - 1,
            Succeeded = 1,
        }, TimeSpan.FromMinutes(1), CancellationToken.None);
        return (runId, batchId);
    }

    [Fact]
    public async Task Post_runs_with_mode_batch_creates_a_batch_mode_run()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var created = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new { count = 3, mode = "batch" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var runId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        using var run = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}", token);
        using var json = JsonDocument.Parse(await run.Content.ReadAsStringAsync());

        Assert.Equal("batch", json.RootElement.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task Post_runs_without_mode_creates_an_online_run_with_no_batch_fields()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var created = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new { count = 2 });
        var runId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        using var run = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}", token);
        using var json = JsonDocument.Parse(await run.Content.ReadAsStringAsync());

        Assert.Equal("online", json.RootElement.GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("online_equivalent_cost_usd").ValueKind);
    }

    [Theory]
    [InlineData("Batch")]
    [InlineData("offline")]
    [InlineData("")]
    public async Task Post_runs_with_an_unknown_mode_is_a_problem_naming_mode(string mode)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new { count = 2, mode });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("mode", json.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task Post_runs_over_the_count_limit_is_a_problem_naming_count()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new { count = RunLimits.MaxCount + 1, mode = "batch" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("count", json.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task Get_batches_lists_each_batch_with_its_status_counts_and_results_read()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var (runId, batchId) = await CreateSubmittedBatchRunAsync(host, user.Id, count: 4);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}/batches", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var batch = Assert.Single(json.RootElement.GetProperty("batches").EnumerateArray());
        Assert.Equal("batch", json.RootElement.GetProperty("mode").GetString());
        Assert.Equal(batchId, batch.GetProperty("batch_id").GetString());
        Assert.Equal("in_progress", batch.GetProperty("processing_status").GetString());
        Assert.Equal(4, batch.GetProperty("request_count").GetInt32());
        Assert.Equal(3, batch.GetProperty("request_counts").GetProperty("processing").GetInt32());
        Assert.Equal(1, batch.GetProperty("request_counts").GetProperty("succeeded").GetInt32());
        Assert.Equal(0, batch.GetProperty("results_lines_done").GetInt64());
    }

    [Fact]
    public async Task Get_run_of_a_batch_mode_run_links_its_batches_and_shows_the_online_equivalent()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var (runId, _) = await CreateSubmittedBatchRunAsync(host, user.Id, count: 2);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}", token);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"/api/runs/{runId:D}/batches", json.RootElement.GetProperty("batches_url").GetString());
        Assert.Equal(0m, json.RootElement.GetProperty("online_equivalent_cost_usd").GetDecimal());
    }

    [Fact]
    public async Task Get_batches_of_another_members_run_is_404()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var memberA = await host.CreateUserAsync();
        var memberB = await host.CreateUserAsync();
        var (runOfB, _) = await CreateSubmittedBatchRunAsync(host, memberB.Id, count: 2);
        var tokenOfA = await host.CreateTokenAsync(memberA);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runOfB:D}/batches", tokenOfA);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unreadable_results_lines_are_counted_linked_and_served_as_they_came_to_their_owner_only()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        var (runId, batchId) = await CreateSubmittedBatchRunAsync(host, owner.Id, count: 2);
        // As the ingester keeps them: the line with U+FFFD where it held NULs, their positions, and the batch's count.
        await using (var connection = await host.Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO message_batch_unreadable_lines (batch_id, line, reason, text, text_nuls)
                SELECT id, 2, 'A results line is not JSON: cut', '{"custom_id":"t1-1","result":' || chr(65533), ARRAY[29]
                FROM message_batches WHERE anthropic_batch_id = @batchId;
                UPDATE message_batches SET results_lines_unreadable = 1 WHERE anthropic_batch_id = @batchId;
                """, new { batchId });
        }

        using var client = host.NewClient();
        var token = await host.CreateTokenAsync(owner);
        using var batches = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}/batches", token);
        using var batchesJson = JsonDocument.Parse(await batches.Content.ReadAsStringAsync());
        var batch = Assert.Single(batchesJson.RootElement.GetProperty("batches").EnumerateArray());
        Assert.Equal(1, batch.GetProperty("results_lines_unreadable").GetInt32());
        var url = batch.GetProperty("unreadable_lines_url").GetString();
        Assert.Equal($"/api/runs/{runId:D}/batches/1/unreadable-lines", url);

        using var lines = await DashboardHost.SendAsync(client, HttpMethod.Get, url!, token);
        Assert.Equal(HttpStatusCode.OK, lines.StatusCode);
        using var linesJson = JsonDocument.Parse(await lines.Content.ReadAsStringAsync());
        var line = Assert.Single(linesJson.RootElement.EnumerateArray());
        Assert.Equal(2, line.GetProperty("line").GetInt64());
        Assert.Equal("{\"custom_id\":\"t1-1\",\"result\":\0", line.GetProperty("text").GetString());
        Assert.StartsWith("A results line is not JSON", line.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Another member: the run is not theirs, so neither are its lines. A batch the run lacks, or a number that is
        // not one, is named.
        using var forOther = await DashboardHost.SendAsync(client, HttpMethod.Get, url!, await host.CreateTokenAsync(other));
        Assert.Equal(HttpStatusCode.NotFound, forOther.StatusCode);
        using var noSuchBatch = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}/batches/2/unreadable-lines", token);
        Assert.Equal(HttpStatusCode.NotFound, noSuchBatch.StatusCode);
        using var notANumber = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}/batches/0/unreadable-lines", token);
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        using var problem = JsonDocument.Parse(await notANumber.Content.ReadAsStringAsync());
        Assert.Equal("seq", problem.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task Get_batches_of_an_online_run_is_an_empty_list()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{runId:D}/batches", token);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, json.RootElement.GetProperty("batches").GetArrayLength());
    }
}
