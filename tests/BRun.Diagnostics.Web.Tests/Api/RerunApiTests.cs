using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary><c>POST /api/failed-generations/rerun</c> over HTTP (real host, API tokens), and member isolation.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RerunApiTests(IntegrationEnvironment env)
{
    internal static HttpRequestMessage Post(string path, string token, string? json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    [Fact]
    public async Task A_filtered_rerun_creates_a_run_of_the_matching_failures_and_answers_201_with_its_plan()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner, count: 4);
        await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, runId, [0, 2]);
        await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, runId, [3], "api_error");
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await client.SendAsync(Post($"/api/failed-generations/rerun?run_id={runId}&failure_type=truncation", token,
            """{"max_tokens": 8192, "model": "claude-haiku-4-5", "temperature": 0.2}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var newRun = json.RootElement.GetProperty("run_id").GetGuid();
        Assert.Equal($"/api/runs/{newRun}", response.Headers.Location?.OriginalString);
        Assert.Equal((2, runId, 8192), (json.RootElement.GetProperty("count").GetInt32(), json.RootElement.GetProperty("source_run_id").GetGuid(), json.RootElement.GetProperty("max_tokens").GetInt32()));
        using var run = await client.SendAsync(Get($"/api/runs/{newRun}", token));
        using var runJson = JsonDocument.Parse(await run.Content.ReadAsStringAsync());
        Assert.Equal(("claude-haiku-4-5", 2), (runJson.RootElement.GetProperty("model").GetString(), runJson.RootElement.GetProperty("total").GetInt32()));
    }

    [Fact]
    public async Task A_dry_run_answers_200_with_the_count_and_estimated_cost_and_creates_no_run()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner, count: 3);
        var failures = await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, runId, [0, 1, 2]);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await client.SendAsync(Post("/api/failed-generations/rerun", token,
            $$"""{"ids": ["{{failures[0]}}", "{{failures[1]}}"], "max_tokens": 1000, "dry_run": true}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        // claude-sonnet-4-5 (the seeded run's model): 2 x (1,000 in at $3/MTok + 1,000 out at $15/MTok) = $0.036.
        Assert.Equal((2, 0.036m, JsonValueKind.Null), (json.RootElement.GetProperty("count").GetInt32(),
            json.RootElement.GetProperty("estimated_cost_usd").GetDecimal(), json.RootElement.GetProperty("run_id").ValueKind));
        using var runs = await client.SendAsync(Get("/api/runs", token));
        Assert.Equal(1, JsonDocument.Parse(await runs.Content.ReadAsStringAsync()).RootElement.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("?failure_type=bogus", "{}", "failure_type")]
    [InlineData("", """{"max_tokens": 0}""", "max_tokens")]
    [InlineData("", """{"max_tokens": "many"}""", "max_tokens")]
    [InlineData("", """{"temperature": 3}""", "temperature")]
    [InlineData("", """{"template": "no-such-template"}""", "template")]
    [InlineData("", """{"template": "default", "template_version": 999}""", "template_version")]
    [InlineData("", """{"ids": ["not-a-guid"]}""", "ids")]
    [InlineData("?model=x", """{"ids": ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]}""", "ids")]
    [InlineData("", """{"maxTokens": 5}""", "maxTokens")]
    [InlineData("", "[1]", "body")]
    [InlineData("", "{not json", "body")]
    public async Task A_bad_parameter_is_a_400_problem_naming_it(string query, string body, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner, count: 1);
        await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, runId, [0]);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await client.SendAsync(Post("/api/failed-generations/rerun" + query, token, body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(parameter, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task A_member_gets_404_for_a_rerun_of_another_members_failures_by_filter_or_by_id()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner, count: 2);
        var failures = await FailedTaskSeed.FailTasksAsync(host.Db.DataSource, owner.Id, runId, [0, 1]);
        var token = await host.CreateTokenAsync(other);
        using var client = host.NewClient();

        using var byFilter = await client.SendAsync(Post($"/api/failed-generations/rerun?run_id={runId}", token, null));
        using var byId = await client.SendAsync(Post("/api/failed-generations/rerun", token, $$"""{"ids": ["{{failures[0]}}"]}"""));

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (byFilter.StatusCode, byId.StatusCode));
        Assert.Equal("application/problem+json", byId.Content.Headers.ContentType?.MediaType);
    }

    private static HttpRequestMessage Get(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }
}
