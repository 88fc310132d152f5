using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Tests.Runs;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary><c>GET /api/runs/{id}/report?format=html|md</c>.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class RunReportApiTests(IntegrationEnvironment env)
{
    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string url, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    [Theory]
    [InlineData("html")]
    [InlineData("md")]
    public async Task A_member_gets_404_for_another_members_run(string format)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format={format}", await host.CreateTokenAsync(other));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Html_report_is_an_attachment_that_forbids_scripts_and_requests()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report", await host.CreateTokenAsync(owner));

        Assert.Equal(
            ("text/html", $"run-report-{run}.html", "default-src 'none'"),
            (response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentDisposition?.FileName?.Trim('"'),
             response.Headers.GetValues("Content-Security-Policy").Single().Split(';')[0]));
    }

    [Fact]
    public async Task Html_report_keeps_a_hostile_response_as_text()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format=html", await host.CreateTokenAsync(owner));
        var html = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Markdown_report_escapes_the_hostile_stop_reason()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format=md", await host.CreateTokenAsync(owner));
        var markdown = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/markdown", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\\</svg\\>\\<script\\>alert\\(1\\)\\</script\\>", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_shows_the_runs_cost_once_it_is_priced()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format=md", await host.CreateTokenAsync(owner));

        Assert.Contains("| Spent on failed generations | \\$0.0500 \\(40.5%\\) |", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Links_point_back_at_the_dashboard_the_request_came_to()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await RunReportSeed.SeedFinishedRunAsync(host.Services, host.Db.DataSource, owner.Id);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format=md", await host.CreateTokenAsync(owner));

        Assert.Contains($"[Run page]({client.BaseAddress}runs/{run})", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_format_is_a_problem_naming_the_parameter()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var run = await host.CreateRunAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/runs/{run}/report?format=pdf", await host.CreateTokenAsync(owner));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("format", problem.RootElement.GetProperty("parameter").GetString());
    }
}
