using System.Net;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class HealthEndpointTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task Live_and_ready_answer_anonymously_and_ready_names_each_check()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var live = await client.GetAsync(new Uri("/healthz/live", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var names = body.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).Order();
        Assert.Equal(["blob_storage", "live_listener", "postgres", "worker_loop"], names);
    }

    [Fact]
    public async Task Ready_is_503_naming_the_database_when_it_is_unreachable()
    {
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?>
        {
            // Nothing listens on port 1: the database is away, the host itself is up.
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2",
            ["Database:MigrateOnStart"] = "false",
        });
        using var client = host.NewClient();

        using var live = await client.GetAsync(new Uri("/healthz/live", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var postgres = body.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "postgres");
        Assert.Equal("Unhealthy", postgres.GetProperty("status").GetString());
    }
}
