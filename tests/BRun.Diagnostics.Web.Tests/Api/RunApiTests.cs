using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

[Collection(IntegrationEnvironment.Collection)]
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
}
