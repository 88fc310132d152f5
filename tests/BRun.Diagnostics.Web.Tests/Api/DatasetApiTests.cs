using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Api;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class DatasetApiTests(IntegrationEnvironment env)
{
    private static string Line(string assistant) =>
        $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Help me budget.\"}}, {{\"role\": \"assistant\", \"content\": \"{assistant}\"}}]}}";

    private static HttpRequestMessage Request(HttpMethod method, string uri, string token, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, new Uri(uri, UriKind.Relative)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    [Fact]
    public async Task Import_then_export_returns_a_zip_of_the_good_conversations_and_a_manifest_that_matches_them()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        var body = new StringContent(string.Join('\n', Line("Start small."), "oops", Line("Let's list what you owe togeth"), Line("Good.")), Encoding.UTF8, "application/x-ndjson");

        using var import = await client.SendAsync(Request(HttpMethod.Post, "/api/import?label=api-data&format=openai&name=chats.jsonl", token, body));
        using var export = await client.SendAsync(Request(HttpMethod.Get, "/api/export/training?format=sharegpt&dataset=api-data", token));

        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        using var summary = JsonDocument.Parse(await import.Content.ReadAsStringAsync());
        Assert.Equal((4L, 2L, 1L, 1L), (summary.RootElement.GetProperty("records").GetInt64(), summary.RootElement.GetProperty("imported").GetInt64(),
            summary.RootElement.GetProperty("rejected").GetInt64(), summary.RootElement.GetProperty("bad_lines").GetInt64()));
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        using var zip = new ZipArchive(await export.Content.ReadAsStreamAsync(), ZipArchiveMode.Read);
        using var jsonl = new MemoryStream();
        await using (var entry = zip.GetEntry("training.jsonl")!.Open())
        {
            await entry.CopyToAsync(jsonl);
        }

        using var manifest = JsonDocument.Parse(zip.GetEntry("training.manifest.json")!.Open());
        Assert.Equal(2, Encoding.UTF8.GetString(jsonl.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(jsonl.ToArray())), manifest.RootElement.GetProperty("sha256").GetString());
    }

    [Theory]
    [InlineData("/api/export/training?format=xml", "format")]
    [InlineData("/api/export/training?format=openai&since=yesterday", "since")]
    [InlineData("/api/export/training?format=openai&run=12", "run")]
    [InlineData("/api/export/training?format=openai&dataset=nope", "dataset")]
    public async Task Bad_export_parameters_get_a_problem_naming_the_parameter(string uri, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(env);
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        using var response = await client.SendAsync(Request(HttpMethod.Get, uri, token));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(parameter, problem.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task Import_without_a_label_gets_a_problem_naming_label()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        using var response = await client.SendAsync(Request(HttpMethod.Post, "/api/import", token, new StringContent(Line("x."), Encoding.UTF8, "application/x-ndjson")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("label", problem.RootElement.GetProperty("parameter").GetString());
    }
}
