using System.Net;
using System.Net.Http.Headers;
using System.Text;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>
/// A body an endpoint cannot read. Minimal APIs answered these with an empty 400 (or 415), naming nothing; now each is
/// problem+json naming what was wrong, by its JSON path when a value has the wrong type.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class ApiBodyTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task A_body_the_endpoint_cannot_read_is_problem_json_naming_what_was_wrong()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        var cases = new (string Method, string Path, string ContentType, string Body, HttpStatusCode Status, string Parameter)[]
        {
            ("POST", "/api/runs", "application/json", "{bad", HttpStatusCode.BadRequest, "body"),
            ("POST", "/api/runs", "application/json", "[]", HttpStatusCode.BadRequest, "body"),
            ("POST", "/api/runs", "application/json", "{\"count\":\"abc\"}", HttpStatusCode.BadRequest, "count"),
            ("POST", "/api/runs", "application/json", "{\"count\":1,\"matrix\":{\"personas\":\"x\"}}", HttpStatusCode.BadRequest, "matrix.personas"),
            ("POST", "/api/templates", "application/json", "{\"name\":123}", HttpStatusCode.BadRequest, "name"),
            ("POST", "/api/runs", "text/plain", "count=1", HttpStatusCode.UnsupportedMediaType, "Content-Type"),
        };

        foreach (var (method, path, contentType, body, status, parameter) in cases)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
            {
                Content = new StringContent(body, Encoding.UTF8, contentType),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            await ApiAssert.ProblemNamingAsync(response, status, parameter);
        }
    }
}
