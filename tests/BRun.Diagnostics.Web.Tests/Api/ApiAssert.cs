using System.Net;
using System.Text.Json;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>Assertions on the API's problem+json answers.</summary>
internal static class ApiAssert
{
    /// <summary>The answer has <paramref name="status"/>, is problem+json and names <paramref name="parameter"/>; returns the body.</summary>
    public static async Task<string> ProblemNamingAsync(HttpResponseMessage response, HttpStatusCode status, string parameter)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal(parameter, json.RootElement.TryGetProperty("parameter", out var named) ? named.GetString() : null);
        return body;
    }

    /// <summary>The GET operation of <paramref name="path"/> in the host's OpenAPI document (anonymous).</summary>
    public static async Task<JsonElement> OpenApiGetAsync(DashboardHost host, string path)
    {
        using var client = host.NewClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        return document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("get").Clone();
    }
}
