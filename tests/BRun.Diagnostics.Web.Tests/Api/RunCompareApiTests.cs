using System.Net;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary><c>GET /api/runs/compare</c> over HTTP (real host, API tokens): what the compare page shows, and member isolation.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RunCompareApiTests(IntegrationEnvironment env)
{
    /// <summary>A source run of 4 tasks with 2 truncated, and its re-run at max_tokens 8,192 whose 2 tasks both succeeded for $0.05.</summary>
    private static async Task<(Guid Source, Guid Rerun)> SourceAndRerunAsync(DashboardHost host, HttpClient client, AppUser owner, string token)
    {
        var source = await host.CreateRunAsync(owner, count: 4);
        await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, source, [0, 1]);
        using var created = await client.SendAsync(RerunApiTests.Post($"/api/failed-generations/rerun?run_id={source}", token, """{"max_tokens": 8192}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rerun = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("run_id").GetGuid();
        await using var c = await host.Db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE generation_tasks SET state = 'succeeded', finished_at = now() WHERE run_id = @source AND seq IN (2, 3);
            UPDATE generation_runs SET succeeded = 2 WHERE id = @source;
            UPDATE generation_tasks SET state = 'succeeded', finished_at = now() WHERE run_id = @rerun;
            UPDATE generation_runs SET succeeded = 2, cost_usd = 0.05, status = 'completed' WHERE id = @rerun;
            """, new { source, rerun });
        return (source, rerun);
    }

    [Fact]
    public async Task A_rerun_compared_with_its_source_answers_the_pages_figures()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();
        var (source, rerun) = await SourceAndRerunAsync(host, client, owner, token);

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/compare?a={source}&b={rerun}", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        var a = root.GetProperty("a");
        var b = root.GetProperty("b");
        Assert.Equal((source, 4, 2, 4), (a.GetProperty("run").GetProperty("id").GetGuid(), a.GetProperty("run").GetProperty("total").GetInt32(),
            a.GetProperty("run").GetProperty("failed").GetInt32(), a.GetProperty("ended").GetInt32()));
        Assert.Equal((0.5, 0.0), (a.GetProperty("failure_rate").GetDouble(), b.GetProperty("failure_rate").GetDouble()));
        Assert.Equal(0.025m, b.GetProperty("cost_per_good_conversation_usd").GetDecimal());
        Assert.Equal((source, $"/api/runs/{source:D}"), (b.GetProperty("source_run_id").GetGuid(), b.GetProperty("source_run_url").GetString()));
        Assert.Equal(JsonValueKind.Null, a.GetProperty("source_run_id").ValueKind);
        Assert.True(root.GetProperty("b_is_rerun_of_a").GetBoolean());
        var truncation = root.GetProperty("by_failure_type").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "truncation");
        Assert.Equal((2L, 0L, -50.0), (truncation.GetProperty("count_a").GetInt64(), truncation.GetProperty("count_b").GetInt64(), truncation.GetProperty("change_points").GetDouble()));
        Assert.NotEmpty(root.GetProperty("by_stop_reason").EnumerateArray());
        Assert.NotEmpty(root.GetProperty("by_pattern").EnumerateArray());
        // Both histograms share one bucket width (from the larger max_tokens), so they have the same buckets.
        Assert.Equal(BRun.Diagnostics.Web.Runs.RunComparisonService.BucketWidth(8192), root.GetProperty("bucket_width").GetInt32());
        Assert.Equal(a.GetProperty("output_tokens").GetArrayLength(), b.GetProperty("output_tokens").GetArrayLength());
        Assert.Equal(2, a.GetProperty("output_tokens").EnumerateArray().Sum(x => x.GetProperty("failures").GetInt64()));
        Assert.Equal($"/runs/compare?a={source:D}&b={rerun:D}", root.GetProperty("page_url").GetString());
    }

    [Theory]
    [InlineData(true, "a")]
    [InlineData(false, "b")]
    public async Task Another_members_run_is_a_404_naming_its_parameter(bool othersRunIsA, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        var mine = await host.CreateRunAsync(other);
        var theirs = await host.CreateRunAsync(owner);
        var token = await host.CreateTokenAsync(other);
        using var client = host.NewClient();
        var (a, b) = othersRunIsA ? (theirs, mine) : (mine, theirs);

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/compare?a={a}&b={b}", token);

        var body = await ApiAssert.ProblemNamingAsync(response, HttpStatusCode.NotFound, parameter);
        Assert.DoesNotContain(owner.Email, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_endpoint_with_a_and_b_required()
    {
        await using var host = await DashboardHost.StartAsync(env);

        var operation = await ApiAssert.OpenApiGetAsync(host, "/api/runs/compare");

        var parameters = operation.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("required").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["a"] = true, ["b"] = true }, parameters);
        Assert.True(operation.GetProperty("responses").TryGetProperty("404", out _));
    }

    [Theory]
    [InlineData("", "a")]
    [InlineData("?b=3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a")]
    [InlineData("?a=3f2504e0-4f89-11d3-9a0c-0305e82c3301", "b")]
    [InlineData("?a=not-a-guid&b=3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a")]
    [InlineData("?a=3f2504e0-4f89-11d3-9a0c-0305e82c3301&b=42", "b")]
    [InlineData("?a=3f2504e0-4f89-11d3-9a0c-0305e82c3301&a=3f2504e0-4f89-11d3-9a0c-0305e82c3301&b=3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a")]
    [InlineData("?a=3f2504e0-4f89-11d3-9a0c-0305e82c3301&b=3f2504e0-4f89-11d3-9a0c-0305e82c3301&c=1", "c")]
    public async Task A_missing_or_invalid_run_id_is_a_400_naming_the_parameter(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Get, "/api/runs/compare" + query, token);

        await ApiAssert.ProblemNamingAsync(response, HttpStatusCode.BadRequest, parameter);
    }
}
