using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>Pause/resume, alerts and alert rules over HTTP (real host, API tokens), and member isolation.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RunAlertApiTests(IntegrationEnvironment env)
{
    private static HttpRequestMessage Request(HttpMethod method, string path, string token, object? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    [Fact]
    public async Task Owner_pauses_and_resumes_a_run_and_reads_and_edits_its_rules()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner, count: 3);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var paused = await client.SendAsync(Request(HttpMethod.Post, $"/api/runs/{runId}/pause", token));
        using var pausedAgain = await client.SendAsync(Request(HttpMethod.Post, $"/api/runs/{runId}/pause", token));
        using var resumed = await client.SendAsync(Request(HttpMethod.Post, $"/api/runs/{runId}/resume", token));
        using var invalid = await client.SendAsync(Request(HttpMethod.Put, $"/api/runs/{runId}/alert-rules", token,
            new { min_tasks = 5, failure_rate_above = 1.5m, pause_on_failure_rate = true, new_pattern = true }));
        using var saved = await client.SendAsync(Request(HttpMethod.Put, $"/api/runs/{runId}/alert-rules", token,
            new { min_tasks = 5, failure_rate_above = 0.25m, pause_on_failure_rate = true, new_pattern = false, webhook_format = "slack" }));
        using var rules = await client.SendAsync(Request(HttpMethod.Get, $"/api/runs/{runId}/alert-rules", token));

        Assert.Equal(
            (HttpStatusCode.OK, HttpStatusCode.Conflict, HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.NoContent),
            (paused.StatusCode, pausedAgain.StatusCode, resumed.StatusCode, invalid.StatusCode, saved.StatusCode));
        Assert.Equal("paused", JsonDocument.Parse(await paused.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await rules.Content.ReadAsStringAsync());
        Assert.Equal((5, 0.25m, "slack"), (json.RootElement.GetProperty("min_tasks").GetInt32(),
            json.RootElement.GetProperty("failure_rate_above").GetDecimal(), json.RootElement.GetProperty("webhook_format").GetString()));
    }

    [Fact]
    public async Task A_member_gets_404_for_another_members_alerts_rules_pause_and_resume()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(owner);
        var token = await host.CreateTokenAsync(other);
        using var client = host.NewClient();

        var statuses = new List<HttpStatusCode>();
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "alerts"), (HttpMethod.Get, "alert-rules"), (HttpMethod.Post, "pause"), (HttpMethod.Post, "resume"),
        })
        {
            using var response = await client.SendAsync(Request(method, $"/api/runs/{runId}/{path}", token));
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NotFound, s));
    }
}
