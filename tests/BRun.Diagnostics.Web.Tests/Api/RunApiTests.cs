using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Api;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RunApiTests(IntegrationEnvironment env)
{
    private static async Task<HttpResponseMessage> GetRunAsync(HttpClient client, Guid runId, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/runs/{runId}", UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await client.SendAsync(request);
    }

    [Fact]
    public async Task Api_token_authenticates_get_run_and_returns_its_counts()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user, count: 7);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetRunAsync(client, runId, token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((runId, 7, 7, "running"), (
            json.RootElement.GetProperty("id").GetGuid(),
            json.RootElement.GetProperty("total").GetInt32(),
            json.RootElement.GetProperty("pending").GetInt32(),
            json.RootElement.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Unknown_api_token_gets_401()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        using var client = host.NewClient();

        using var response = await GetRunAsync(client, runId, "brun_" + new string('A', 43));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Member_gets_404_for_another_members_run()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var memberA = await host.CreateUserAsync();
        var memberB = await host.CreateUserAsync();
        var runOfB = await host.CreateRunAsync(memberB);
        var tokenOfA = await host.CreateTokenAsync(memberA);
        using var client = host.NewClient();

        using var response = await GetRunAsync(client, runOfB, tokenOfA);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Admin_sees_a_members_run()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var member = await host.CreateUserAsync();
        var admin = await host.CreateUserAsync("admin");
        var runOfMember = await host.CreateRunAsync(member);
        var tokenOfAdmin = await host.CreateTokenAsync(admin);
        using var client = host.NewClient();

        using var response = await GetRunAsync(client, runOfMember, tokenOfAdmin);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Get_run_has_finished_at_and_the_cancelled_count()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user, count: 4);
        await host.Services.GetRequiredService<RunStore>().CancelAsync(DbIdentity.System, runId, CancellationToken.None);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetRunAsync(client, runId, token);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(4, json.RootElement.GetProperty("cancelled").GetInt32());
        Assert.Equal(JsonValueKind.String, json.RootElement.GetProperty("finished_at").ValueKind);
    }

    [Fact]
    public async Task List_runs_pages_and_filters_by_status()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var cancelled = await host.CreateRunAsync(user);
        await host.CreateRunAsync(user);
        await host.CreateRunAsync(user);
        await host.Services.GetRequiredService<RunStore>().CancelAsync(DbIdentity.System, cancelled, CancellationToken.None);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var running = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/runs?status=running&limit=1", UriKind.Relative)));
        using var onlyCancelled = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/runs?status=cancelled", UriKind.Relative)));

        Assert.Equal(2, running.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(1, running.RootElement.GetProperty("items").GetArrayLength());
        Assert.Equal(cancelled, onlyCancelled.RootElement.GetProperty("items")[0].GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task List_runs_refuses_an_unknown_status_naming_the_accepted_ones()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var response = await client.GetAsync(new Uri("/api/runs?status=done", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("status", json.RootElement.GetProperty("parameter").GetString());
        Assert.Contains("completed", json.RootElement.GetProperty("accepted").GetString(), StringComparison.Ordinal);
    }
}
