using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Tests.Failures;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>
/// Walks every parameter of every API endpoint (found from the host's routing table, so a new endpoint is walked
/// without touching this test) with malformed, boundary and hostile values. No answer may be a 500, and every 400
/// must be problem+json naming the parameter.
/// </summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class ApiWalkerTests(IntegrationEnvironment env)
{
    /// <summary>Overflowing numbers, wrong case, non-ASCII, control characters, injection attempts, 10 KB.</summary>
    public static readonly string[] HostileValues =
    [
        " ", "bogus", "TRUNCATION", "Running", "-1", "0", "1", "1.5", "1e3", "+1", "0x10", "abc", "2147483647", "2147483648",
        "99999999999999999999999", "-2147483649", "１２", "é", "\u202e", "😀", "\0", "a\nb", "<script>alert(1)</script>",
        "' OR 1=1 --", "%", "_", "\\", "(none)", "2026-13-45", "yesterday", "12/02/2026", "9999-12-31", "0001-01-01",
        "2026-12-02T25:00:00Z", "2026-12-02T10:00:00+14:00", "not-a-guid", "00000000-0000-0000-0000-000000000000",
        "../../etc/passwd", "\r\nX-Injected: 1", new string('a', 10_240),
    ];

    [Fact]
    public async Task Every_parameter_of_every_endpoint_answers_bad_values_with_a_named_problem_and_never_500()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user, count: 2);
        var failureId = await host.Services.GetRequiredService<FailedGenerationStore>().StoreAsync(user.Id, FailureSeed.Truncation(runId: runId));
        // Routes of a run's batch ({seq}) walk a batch-mode run with a batch 1.
        var (batchRunId, _) = await RunBatchesApiTests.CreateSubmittedBatchRunAsync(host, user.Id, count: 2);
        var token = await host.CreateTokenAsync(user);
        var adminToken = await host.CreateTokenAsync(await host.CreateUserAsync(Infrastructure.Users.AppUserRoles.Admin));
        using var client = host.NewClient();
        var endpoints = ApiEndpoints(host);
        Assert.True(endpoints.Count >= 7, $"Found only {endpoints.Count} API endpoints.");
        var failures = new List<string>();

        foreach (var endpoint in endpoints)
        {
            var template = endpoint.RoutePattern.RawText!.TrimStart('/');
            var id = template.Contains("{seq}", StringComparison.Ordinal) ? batchRunId
                : template.StartsWith("api/runs", StringComparison.Ordinal) ? runId : failureId;
            // Every database has the seeded "default" template, so {name} routes answer 200 with their example values.
            var path = "/" + template.Replace("{id}", id.ToString("D"), StringComparison.Ordinal).Replace("{name}", "default", StringComparison.Ordinal)
                .Replace("{seq}", "1", StringComparison.Ordinal);
            var parameters = endpoint.Metadata.GetMetadata<ApiQueryParametersMetadata>()?.Parameters ?? [];
            // Admin-only endpoints (a member gets a 403) are walked as an admin.
            var adminOnly = endpoint.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()
                .Any(a => a.Roles?.Split(',').Contains(Infrastructure.Users.AppUserRoles.Admin, StringComparer.Ordinal) == true);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminOnly ? adminToken : token);
            // Required parameters travel with their example value, so each walk varies one parameter at a time. An
            // example run id stands for the seeded run, so the endpoint answers 200 rather than "no such run".
            string Example(ApiQueryParameter p) => Guid.TryParse(p.Example, out _) ? runId.ToString("D") : p.Example!;
            string Base(string? except) => string.Concat(parameters.Where(p => p.Required && p.Name != except).Select(p => $"{p.Name}={Uri.EscapeDataString(Example(p))}&"));

            await ExpectAsync(client, $"{path}?{Base(null)}", null, HttpStatusCode.OK, failures);
            await ExpectAsync(client, $"{path}?{Base(null)}no_such_parameter=1", "no_such_parameter", HttpStatusCode.BadRequest, failures);
            foreach (var parameter in parameters)
            {
                await ExpectAsync(client, $"{path}?{Base(parameter.Name)}{parameter.Name}=a&{parameter.Name}=b", parameter.Name, HttpStatusCode.BadRequest, failures);
                foreach (var value in HostileValues)
                {
                    await ExpectAsync(client, $"{path}?{Base(parameter.Name)}{parameter.Name}={Uri.EscapeDataString(value)}", parameter.Name, expected: null, failures);
                }
            }

            if (template.Contains("{id}", StringComparison.Ordinal))
            {
                // No NUL in a path: the in-process test server refuses to build such a request at all (Kestrel answers 400).
                foreach (var value in HostileValues.Where(v => v.Trim().Length > 0 && !v.Contains('\0', StringComparison.Ordinal)))
                {
                    var hostilePath = "/" + template.Replace("{id}", Uri.EscapeDataString(value), StringComparison.Ordinal).Replace("{seq}", "1", StringComparison.Ordinal);
                    await ExpectAsync(client, hostilePath, "id", expected: null, failures);
                }
            }

            if (template.Contains("{seq}", StringComparison.Ordinal))
            {
                foreach (var value in HostileValues.Where(v => v.Trim().Length > 0 && !v.Contains('\0', StringComparison.Ordinal)))
                {
                    var hostilePath = "/" + template.Replace("{id}", id.ToString("D"), StringComparison.Ordinal).Replace("{seq}", Uri.EscapeDataString(value), StringComparison.Ordinal);
                    await ExpectAsync(client, hostilePath, "seq", expected: value == "1" ? HttpStatusCode.OK : null, failures);
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(40)));
    }

    /// <summary>JSON values of every type and range, for walking a request body field by field.</summary>
    private static readonly string[] HostileJsonValues =
    [
        "null", "true", "0", "-1", "1.5", "1e308", "2147483648", "99999999999999999999999", "\"\"", "\"bogus\"", "\"\\u0000\"",
        "\"<script>alert(1)</script>\"", "\"' OR 1=1 --\"", "\"😀\"", "[]", "[1]", "[\"not-a-guid\"]", "{}", "\"" + new string('a', 10_240) + "\"",
    ];

    [Fact]
    public async Task The_rerun_endpoint_answers_bad_filter_and_body_values_with_a_named_problem_and_never_500()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user, count: 2);
        await BRun.Diagnostics.Testing.FailedTaskSeed.FailTasksAsync(host.Db.DataSource, user.Id, runId, [0, 1]);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        var endpoint = ApiPostEndpoints(host).Single(e => e.RoutePattern.RawText == "/api/failed-generations/rerun");
        var parameters = endpoint.Metadata.GetMetadata<ApiQueryParametersMetadata>()?.Parameters ?? [];
        Assert.NotEmpty(parameters);
        var failures = new List<string>();
        const string dryRun = "{\"dry_run\": true}";

        await PostAsync("?no_such_parameter=1", dryRun, "no_such_parameter", HttpStatusCode.BadRequest);
        await PostAsync("", dryRun, null, HttpStatusCode.OK);
        foreach (var parameter in parameters)
        {
            await PostAsync($"?{parameter.Name}=a&{parameter.Name}=b", dryRun, parameter.Name, HttpStatusCode.BadRequest);
            foreach (var value in HostileValues)
            {
                // A filter that matches nothing is a 404; only a 500 or a 400 naming something else is wrong.
                await PostAsync($"?{parameter.Name}={Uri.EscapeDataString(value)}", dryRun, parameter.Name, null);
            }
        }

        foreach (var field in BRun.Diagnostics.Web.Reruns.RerunApiBody.Keys.Where(k => k != "dry_run"))
        {
            foreach (var value in HostileJsonValues)
            {
                await PostAsync("", $"{{\"dry_run\": true, \"{field}\": {value}}}", field, null);
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(40)));

        async Task PostAsync(string query, string body, string? parameter, HttpStatusCode? expected)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/failed-generations/rerun" + query, UriKind.Relative))
            {
                Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            var shown = $"POST {(query.Length > 80 ? query[..80] + "…" : query)} {(body.Length > 80 ? body[..80] + "…" : body)}";
            var status = response.StatusCode;
            if ((int)status >= 500 || (expected is { } e && status != e))
            {
                failures.Add($"{shown}: {(int)status}");
                return;
            }

            if ((int)status >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{shown}: {(int)status} as {response.Content.Headers.ContentType?.MediaType}");
                return;
            }

            if (status == HttpStatusCode.BadRequest)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var named = json.RootElement.TryGetProperty("parameter", out var p) ? p.GetString() : null;
                if (named != parameter && !(parameter is "from" && named is "to") && !(parameter is "template_version" && named is "template"))
                {
                    failures.Add($"{shown}: 400 names '{named}', expected '{parameter}'");
                }
            }
        }
    }

    [Fact]
    public async Task Every_body_field_of_every_write_endpoint_answers_bad_values_with_problem_json_and_never_500()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user, count: 2);
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Every write endpoint with a JSON body, found from the routing table; the re-run endpoint reads its own body
        // (walked above) and the import reads JSONL.
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/api/", StringComparison.Ordinal)
                && e.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType is not null)
            .ToList();
        Assert.True(endpoints.Count >= 6, $"Found only {endpoints.Count} write endpoints with a body.");
        var failures = new List<string>();
        var sent = 0;

        foreach (var endpoint in endpoints)
        {
            var path = endpoint.RoutePattern.RawText!
                .Replace("{id}", runId.ToString("D"), StringComparison.Ordinal)
                .Replace("{name}", "default", StringComparison.Ordinal)
                .Replace("{key}", "new_parent", StringComparison.Ordinal);
            var method = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods[0];
            // Each field's hostile values travel in an otherwise plausible body (text a valid key, numbers 1), so a check
            // of a missing field does not answer before the hostile value reaches the code that stores or looks it up.
            var fields = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()!.RequestType!.GetProperties()
                .Select(p => (Name: p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), inherit: true)
                    .OfType<System.Text.Json.Serialization.JsonPropertyNameAttribute>().FirstOrDefault()?.Name, Type: Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType))
                .Where(f => f.Name is not null)
                .Select(f => (Name: f.Name!, Plausible: f.Type == typeof(string) ? "\"walker1\"" : f.Type == typeof(bool) ? "false" : f.Type.IsPrimitive || f.Type == typeof(decimal) ? "1" : null))
                .ToList();
            Assert.True(fields.Count > 0, $"{method} {path}: no JSON fields");
            string Body(string field, string value) => "{" + string.Join(", ", fields
                .Where(f => f.Name != field && f.Plausible is not null).Select(f => $"\"{f.Name}\": {f.Plausible}")
                .Append($"\"{field}\": {value}")) + "}";
            var bodies = new[] { "{bad", "[]", "null", "{}", "\"text\"" }
                .Concat(fields.SelectMany(field => HostileJsonValues.Select(value => Body(field.Name, value))));
            foreach (var body in bodies)
            {
                sent++;
                using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
                {
                    Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
                };
                using var response = await client.SendAsync(request);
                var shown = $"{method} {path} {(body.Length > 60 ? body[..60] + "…" : body)}";
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{shown}: {(int)response.StatusCode}");
                }
                else if ((int)response.StatusCode >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{shown}: {(int)response.StatusCode} as '{response.Content.Headers.ContentType?.MediaType}'");
                }
                else if (response.StatusCode == HttpStatusCode.BadRequest)
                {
                    // A 400 names what was wrong (the last line's 400 for a NUL that reached Postgres names nothing).
                    using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    if (!json.RootElement.TryGetProperty("parameter", out var named) || string.IsNullOrEmpty(named.GetString()))
                    {
                        failures.Add($"{shown}: 400 names no parameter");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {sent}:\n" + string.Join('\n', failures.Take(40)));
    }

    /// <summary>The API's POST endpoints.</summary>
    internal static IReadOnlyList<RouteEndpoint> ApiPostEndpoints(DashboardHost host) =>
    [
        .. host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.TrimStart('/').StartsWith("api/", StringComparison.Ordinal)
                && e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods.Contains("POST") == true),
    ];

    /// <summary>The API's GET endpoints, less the catch-all 404 and the OpenAPI document.</summary>
    internal static IReadOnlyList<RouteEndpoint> ApiEndpoints(DashboardHost host) =>
    [
        .. host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.TrimStart('/').StartsWith("api/", StringComparison.Ordinal)
                && !raw.Contains("**", StringComparison.Ordinal)
                && e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .DistinctBy(e => e.RoutePattern.RawText),
    ];

    private static async Task ExpectAsync(HttpClient client, string url, string? parameter, HttpStatusCode? expected, List<string> failures)
    {
        using var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        var status = response.StatusCode;
        var shortUrl = url.Length > 120 ? url[..120] + "…" : url;
        if ((int)status >= 500 || (expected is { } e && status != e))
        {
            failures.Add($"{shortUrl}: {(int)status}");
            return;
        }

        if (status == HttpStatusCode.NotFound && parameter == "id")
        {
            // A value that changes the route (an encoded slash, "..") can leave the endpoint; it still must be problem+json.
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return;
        }

        if (status == HttpStatusCode.NotFound && parameter is not null && response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            // A well-formed id of something the caller cannot see (the nil GUID) is a 404, as long as it names the parameter.
            using var notFound = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if ((notFound.RootElement.TryGetProperty("parameter", out var named) ? named.GetString() : null) != parameter)
            {
                failures.Add($"{(url.Length > 120 ? url[..120] + "…" : url)}: 404 does not name '{parameter}'");
            }

            return;
        }

        if ((int)status >= 400)
        {
            if (status != HttpStatusCode.BadRequest)
            {
                failures.Add($"{shortUrl}: {(int)status}, expected 200 or 400");
                return;
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{shortUrl}: 400 as {response.Content.Headers.ContentType?.MediaType}");
                return;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var named = json.RootElement.TryGetProperty("parameter", out var p) ? p.GetString() : null;
            if (named != parameter && !(parameter is "from" && named is "to"))
            {
                failures.Add($"{shortUrl}: 400 names '{named}', expected '{parameter}'");
            }
        }
    }
}
