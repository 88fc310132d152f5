using System.Net;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Tests.Api;
using Dapper;

namespace BRun.Diagnostics.Web.Tests.Retention;

/// <summary>
/// The retention log over HTTP: <c>GET /api/retention/runs</c> (paged, admins only, members get a 403 problem) and the
/// /admin/retention page.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RetentionLogTests(IntegrationEnvironment env)
{
    private static readonly Guid Oldest = Guid.Parse("01900000-0000-7000-8000-000000000001");
    private static readonly Guid Failed = Guid.Parse("01900000-0000-7000-8000-000000000002");
    private static readonly Guid Newest = Guid.Parse("01900000-0000-7000-8000-000000000003");

    /// <summary>Three runs a day apart: a real completed run, a failed one, and the newest, a dry run.</summary>
    private static async Task SeedRunsAsync(DashboardHost host)
    {
        await using var c = await host.Db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO retention_runs (id, triggered_by, started_at, finished_at, status, dry_run, older_than_days, cutoff,
                                        failures_deleted, blobs_deleted, blobs_missing, calls_pruned, batches, last_error)
            VALUES (@oldest, 'service:brun-web', '2026-11-01T03:00:00Z', '2026-11-01T03:00:05Z', 'completed', false, 30, '2026-10-02T03:00:00Z', 1234, 1230, 4, 7, 3, NULL),
                   (@failed, 'cli:ana', '2026-11-02T03:00:00Z', '2026-11-02T03:00:09Z', 'failed', false, 30, '2026-10-03T03:00:00Z', 10, 10, 0, 0, 1, 'ReportStorageException: <b>storage down</b>'),
                   (@newest, 'cli:ana', '2026-11-03T03:00:00Z', '2026-11-03T03:00:01Z', 'completed', true, 7, '2026-10-27T03:00:00Z', 55, 0, 0, 0, 1, NULL)
            """, new { oldest = Oldest, failed = Failed, newest = Newest });
    }

    private static async Task<HttpResponseMessage> GetAsync(DashboardHost host, HttpClient client, AppUser user, string path) =>
        await DashboardHost.SendAsync(client, HttpMethod.Get, path, await host.CreateTokenAsync(user));

    [Fact]
    public async Task An_admin_pages_through_the_runs_newest_first()
    {
        await using var host = await DashboardHost.StartAsync(env);
        await SeedRunsAsync(host);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        using var client = host.NewClient();

        using var first = await GetAsync(host, client, admin, "/api/retention/runs?limit=2");
        using var second = await GetAsync(host, client, admin, "/api/retention/runs?limit=2&page=2");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        using var page1 = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        using var page2 = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.Equal((3L, 1, 2), (page1.RootElement.GetProperty("total").GetInt64(), page1.RootElement.GetProperty("page").GetInt32(), page1.RootElement.GetProperty("limit").GetInt32()));
        Assert.Equal([Newest, Failed], page1.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));
        var oldest = Assert.Single(page2.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal((Oldest, "completed", false, 1234L, 1230L, 4L, 7L), (oldest.GetProperty("id").GetGuid(), oldest.GetProperty("status").GetString(),
            oldest.GetProperty("dry_run").GetBoolean(), oldest.GetProperty("failures_deleted").GetInt64(), oldest.GetProperty("blobs_deleted").GetInt64(),
            oldest.GetProperty("blobs_missing").GetInt64(), oldest.GetProperty("calls_pruned").GetInt64()));
        Assert.Equal(new DateTimeOffset(2026, 10, 2, 3, 0, 0, TimeSpan.Zero), oldest.GetProperty("cutoff").GetDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 3, 0, 5, TimeSpan.Zero), oldest.GetProperty("finished_at").GetDateTimeOffset());
        Assert.True(page1.RootElement.GetProperty("items")[0].GetProperty("dry_run").GetBoolean());
    }

    [Fact]
    public async Task A_member_gets_a_403_problem_by_token_and_by_cookie_and_no_runs()
    {
        await using var host = await DashboardHost.StartAsync(env);
        await SeedRunsAsync(host);
        var member = await host.CreateUserAsync();
        using var client = host.NewClient();

        using var byToken = await GetAsync(host, client, member, "/api/retention/runs");
        await DashboardHost.SignInAsAsync(client, member);

        using var byCookie = await client.GetAsync(new Uri("/api/retention/runs", UriKind.Relative));

        foreach (var response in new[] { byToken, byCookie })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("service:brun-web", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_openapi_document_lists_the_endpoint_with_its_paging_and_its_403()
    {
        await using var host = await DashboardHost.StartAsync(env);

        var operation = await ApiAssert.OpenApiGetAsync(host, "/api/retention/runs");

        Assert.Equal(["page", "limit"], operation.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.True(operation.GetProperty("responses").TryGetProperty("403", out _));
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=501", "limit")]
    [InlineData("?page=abc", "page")]
    [InlineData("?status=failed", "status")]
    public async Task A_bad_parameter_is_a_400_problem_naming_it(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        using var client = host.NewClient();

        using var response = await GetAsync(host, client, admin, "/api/retention/runs" + query);

        await ApiAssert.ProblemNamingAsync(response, HttpStatusCode.BadRequest, parameter);
    }

    [Fact]
    public async Task The_admin_page_shows_each_run_and_a_member_is_refused()
    {
        await using var host = await DashboardHost.StartAsync(env);
        await SeedRunsAsync(host);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var member = await host.CreateUserAsync();
        using var adminClient = await host.SignedInClientAsync(admin);
        using var memberClient = await host.SignedInClientAsync(member);

        using var page = await adminClient.GetAsync(new Uri("/admin/retention", UriKind.Relative));
        using var refused = await memberClient.GetAsync(new Uri("/admin/retention", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(3, html.Split("brun-retention-row", StringSplitOptions.None).Length - 1);
        Assert.Contains("2026-11-03 03:00 UTC", html, StringComparison.Ordinal);
        Assert.Contains("2026-10-02 03:00 UTC (30 days)", html, StringComparison.Ordinal);
        Assert.Contains("1,234", html, StringComparison.Ordinal);
        Assert.Contains("dry run", html, StringComparison.Ordinal);
        // The error text is shown as text, never as markup.
        Assert.Contains("&lt;b&gt;storage down&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
    }
}
