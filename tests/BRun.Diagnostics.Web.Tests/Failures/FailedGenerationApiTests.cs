using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Failures;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class FailedGenerationApiTests(IntegrationEnvironment env)
{
    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string url, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await client.SendAsync(request);
    }

    private static FailedGenerationStore Store(DashboardHost host) => host.Services.GetRequiredService<FailedGenerationStore>();

    [Fact]
    public async Task List_filters_by_failure_type_and_search_and_reports_the_total()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        for (var i = 0; i < 3; i++)
        {
            await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        }

        await Store(host).StoreAsync(user.Id, FailureSeed.ApiError("upstream connect error"));
        await Store(host).StoreAsync(user.Id, FailureSeed.ApiError("rate limited"));
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var all = await GetAsync(client, "/api/failed-generations?limit=2", token);
        using var filtered = await GetAsync(client, "/api/failed-generations?failure_type=api_error&q=UPSTREAM", token);

        using var allJson = JsonDocument.Parse(await all.Content.ReadAsStringAsync());
        using var filteredJson = JsonDocument.Parse(await filtered.Content.ReadAsStringAsync());
        Assert.Equal((5, 2, 1, 1, "upstream connect error"), (
            allJson.RootElement.GetProperty("total").GetInt32(),
            allJson.RootElement.GetProperty("items").GetArrayLength(),
            filteredJson.RootElement.GetProperty("total").GetInt32(),
            filteredJson.RootElement.GetProperty("items").GetArrayLength(),
            filteredJson.RootElement.GetProperty("items")[0].GetProperty("error_message").GetString()));
    }

    [Fact]
    public async Task Report_download_is_an_attachment_named_after_the_failure_with_the_raw_report()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var id = await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/{id}/report", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("attachment", $"failed-generation-{id}.json", "application/json"), (
            response.Content.Headers.ContentDisposition?.DispositionType,
            response.Content.Headers.ContentDisposition?.FileName?.Trim('"'),
            response.Content.Headers.ContentType?.MediaType));
        using var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(("truncation", id.ToString()), (
            report.RootElement.GetProperty("error_report").GetProperty("failure_type").GetString(),
            report.RootElement.GetProperty("diagnostics").GetProperty("failure_id").GetString()));
    }

    [Fact]
    public async Task Csv_export_quotes_cells_and_defuses_formulas()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var id = await Store(host).StoreAsync(user.Id, FailureSeed.ApiError("=HYPERLINK(\"http://evil\"), \"quoted\"\nsecond line"));
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations/export?format=csv", token);
        var csv = await response.Content.ReadAsStringAsync();

        Assert.Equal(("text/csv", "attachment"), (response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentDisposition?.DispositionType));
        var lines = csv.Split("\r\n");
        Assert.StartsWith("id,created_at,failure_type,", lines[0], StringComparison.Ordinal);
        Assert.StartsWith(id.ToString(), lines[1], StringComparison.Ordinal);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil\"\"), \"\"quoted\"\"\nsecond line\",", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_export_writes_one_json_object_per_failure()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        await Store(host).StoreAsync(user.Id, FailureSeed.ApiError());
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations/export?format=jsonl&failure_type=truncation", token);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var line = Assert.Single(lines);
        using var json = JsonDocument.Parse(line);
        Assert.Equal(("truncation", 1003), (json.RootElement.GetProperty("failure_type").GetString(), json.RootElement.GetProperty("output_tokens").GetInt32()));
    }

    [Fact]
    public async Task Member_sees_nothing_of_another_members_failures_on_list_report_and_export()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var memberA = await host.CreateUserAsync();
        var memberB = await host.CreateUserAsync();
        var failureOfB = await Store(host).StoreAsync(memberB.Id, FailureSeed.Truncation());
        var tokenOfA = await host.CreateTokenAsync(memberA);
        using var client = host.NewClient();

        using var list = await GetAsync(client, "/api/failed-generations", tokenOfA);
        using var report = await GetAsync(client, $"/api/failed-generations/{failureOfB}/report", tokenOfA);
        using var export = await GetAsync(client, "/api/failed-generations/export?format=jsonl", tokenOfA);

        using var listJson = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        Assert.Equal((0, HttpStatusCode.NotFound, string.Empty), (
            listJson.RootElement.GetProperty("total").GetInt32(), report.StatusCode, await export.Content.ReadAsStringAsync()));
    }

    [Theory]
    [InlineData("/api/failed-generations")]
    [InlineData("/api/failed-generations/export?format=csv")]
    [InlineData("/api/failed-generations/8f0c8c43-7a4e-4a4c-9d3e-2f1b2b7c0d11/report")]
    public async Task Anonymous_request_gets_401(string url)
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await GetAsync(client, url, token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_page_far_past_the_end_is_empty_with_the_total_not_a_500()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations?page=10000000&limit=500", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, json.RootElement.GetProperty("items").GetArrayLength());
        Assert.Equal(1, json.RootElement.GetProperty("total").GetInt32());
    }

    /// <summary>Rows at 17 instants, 6 of them sharing one (the id breaks the tie), api_error every third; 4 of another member's among them.</summary>
    private const string KeysetRowsSql = """
        INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, stop_reason,
            output_tokens, http_status, streamed, failure_type, detection_confidence, created_at, created_by)
        SELECT gen_random_uuid(), 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 'end_turn', 900, 200, false,
               CASE WHEN g % 3 = 0 THEN 'api_error' ELSE 'truncation' END, 'high',
               CASE WHEN g <= 6 THEN timestamptz '2026-11-02 10:00:00.123456+00'
                    ELSE timestamptz '2026-11-01 00:00:00+00' + g * interval '1.000001 second' END,
               CASE WHEN g % 6 = 1 THEN @other ELSE @member END
        FROM generate_series(1, 22) AS g
        """;

    /// <summary>Walks the list from page 1 by next_cursor: the ids in order, the totals seen and the pages read.</summary>
    private static async Task<(List<Guid> Ids, HashSet<long> Totals, int Pages)> WalkAsync(HttpClient client, string token, string filter)
    {
        var (ids, totals, pages) = (new List<Guid>(), new HashSet<long>(), 0);
        string? cursor = null;
        do
        {
            var url = $"/api/failed-generations?limit=4{filter}" + (cursor is null ? string.Empty : "&after=" + Uri.EscapeDataString(cursor));
            using var response = await GetAsync(client, url, token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var root = json.RootElement;
            Assert.Equal(cursor is null ? JsonValueKind.Number : JsonValueKind.Null, root.GetProperty("page").ValueKind);
            ids.AddRange(root.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));
            totals.Add(root.GetProperty("total").GetInt64());
            cursor = root.GetProperty("next_cursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 20);

        return (ids, totals, pages);
    }

    [Fact]
    public async Task Following_next_cursor_reads_every_visible_row_once_newest_first_under_the_filter()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var member = await host.CreateUserAsync();
        var other = await host.CreateUserAsync();
        await using (var c = await host.Db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync(KeysetRowsSql, new { member = member.Id, other = other.Id });
        }

        var token = await host.CreateTokenAsync(member);
        using var client = host.NewClient();

        var all = await WalkAsync(client, token, string.Empty);
        var apiErrors = await WalkAsync(client, token, "&failure_type=api_error");

        await using var check = await host.Db.DataSource.OpenConnectionAsync();
        var expected = (await check.QueryAsync<Guid>(
            "SELECT id FROM failed_generations WHERE created_by = @member ORDER BY created_at DESC, id DESC", new { member = member.Id })).ToList();
        var expectedApiErrors = (await check.QueryAsync<Guid>(
            "SELECT id FROM failed_generations WHERE created_by = @member AND failure_type = 'api_error' ORDER BY created_at DESC, id DESC", new { member = member.Id })).ToList();
        // 18 rows: four full pages and a fifth of two (a full page always offers a cursor; the one after 4 x 4 is not empty).
        Assert.Equal((18, 5), (expected.Count, all.Pages));
        Assert.Equal(expected, all.Ids);
        Assert.Equal([18L], all.Totals);
        Assert.Equal(expectedApiErrors, apiErrors.Ids);
        Assert.Equal([(long)expectedApiErrors.Count], apiErrors.Totals);
    }

    [Fact]
    public async Task A_cursor_with_a_page_number_is_a_problem_naming_after()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        var cursor = new FailedGenerationCursor(new DateTime(2026, 11, 2, 10, 0, 0, DateTimeKind.Utc), Guid.NewGuid()).Encode();

        using var both = await GetAsync(client, "/api/failed-generations?page=2&after=" + cursor, token);
        using var alone = await GetAsync(client, "/api/failed-generations?after=" + cursor, token);

        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.OK), (both.StatusCode, alone.StatusCode));
        using var json = JsonDocument.Parse(await both.Content.ReadAsStringAsync());
        Assert.Equal("after", json.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public void A_cursor_round_trips_to_the_microsecond_and_refuses_what_it_did_not_write()
    {
        var at = new DateTime(2026, 11, 2, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_560);
        var cursor = new FailedGenerationCursor(at, Guid.NewGuid());

        Assert.Equal(cursor, FailedGenerationCursor.Decode(cursor.Encode()));
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(cursor.Encode());
        bytes[0] = 2;
        Assert.Null(FailedGenerationCursor.Decode(System.Buffers.Text.Base64Url.EncodeToString(bytes)));
        Assert.Null(FailedGenerationCursor.Decode(cursor.Encode()[..^2]));
        Assert.Null(FailedGenerationCursor.Decode("not a cursor"));
    }

    [Theory]
    [InlineData("failure_type=bogus", "failure_type")]
    [InlineData("failure_type=TRUNCATION", "failure_type")]
    [InlineData("run_id=not-a-guid", "run_id")]
    [InlineData("from=yesterday", "from")]
    [InlineData("limit=abc", "limit")]
    [InlineData("limit=1.5", "limit")]
    [InlineData("limit=0", "limit")]
    [InlineData("page=2147483648", "page")]
    [InlineData("after=abc", "after")]
    [InlineData("after=AQAAAAAAAAAA", "after")]
    [InlineData("after=x&after=y", "after")]
    public async Task A_bad_filter_or_paging_value_is_a_problem_naming_the_parameter(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations?" + query, token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(parameter, json.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task The_time_range_is_honoured_to_the_second_not_widened_to_days()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        var now = host.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        var sameDayButLater = now.AddMinutes(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

        using var response = await GetAsync(client, "/api/failed-generations?from=" + Uri.EscapeDataString(sameDayButLater), token);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, json.RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task One_failure_is_served_as_json()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var id = await Store(host).StoreAsync(user.Id, FailureSeed.Truncation());
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/{id}", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("req_011", json.RootElement.GetProperty("request_id").GetString());
        Assert.Equal($"/api/failed-generations/{id}/report", json.RootElement.GetProperty("report_url").GetString());
    }

    [Fact]
    public async Task Another_members_failure_is_a_problem_404()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var memberA = await host.CreateUserAsync();
        var memberB = await host.CreateUserAsync();
        var failureOfB = await Store(host).StoreAsync(memberB.Id, FailureSeed.Truncation());
        var tokenOfA = await host.CreateTokenAsync(memberA);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/{failureOfB}", tokenOfA);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Jsonl_export_keeps_quotes_readable()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        await Store(host).StoreAsync(user.Id, FailureSeed.ApiError("the proxy said \"bad gateway\""));
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations/export?format=jsonl", token);

        Assert.Contains("the proxy said \\\"bad gateway\\\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_token_gets_401_with_a_bearer_challenge_and_a_problem()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations", token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_openapi_document_is_served_and_lists_the_filter_parameters()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/openapi/v1.json", token: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var list = json.RootElement.GetProperty("paths").EnumerateObject()
            .Single(p => p.Name.TrimEnd('/') == "/api/failed-generations").Value.GetProperty("get");
        var names = list.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Contains("failure_type", names);
        Assert.Contains("limit", names);
    }
}
