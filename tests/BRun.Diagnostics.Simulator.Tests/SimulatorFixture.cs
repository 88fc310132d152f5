using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>One simulator per test class, with no latency. Tests keep apart by using unique prompts.</summary>
public sealed class SimulatorFixture : IAsyncLifetime
{
    public static SimulatorOptions TestOptions() => new() { MinLatency = TimeSpan.Zero, MaxLatency = TimeSpan.Zero };

    public ClaudeSimulatorServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new();

    public async Task InitializeAsync() => Server = await ClaudeSimulatorServer.StartAsync(TestOptions());

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    public Task<RawReply> PostAsync(string prompt, bool stream, int maxTokens = 4096) => PostAsync(Http, Server.BaseUrl, prompt, stream, maxTokens);

    public Task<RawReply> PostBodyAsync(string json) => PostBodyAsync(Http, Server.BaseUrl, json);

    /// <summary>A Messages request with one user turn, to any simulator.</summary>
    public static Task<RawReply> PostAsync(HttpClient http, Uri baseUrl, string prompt, bool stream, int maxTokens = 4096) =>
        PostBodyAsync(http, baseUrl, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "claude-sonnet-4-5",
            ["max_tokens"] = maxTokens,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
            ["stream"] = stream,
        }));

    /// <summary>Reads whatever arrives, also when the server drops the connection mid-body.</summary>
    public static async Task<RawReply> PostBodyAsync(HttpClient http, Uri baseUrl, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "v1/messages"))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var kept = new MemoryStream();
        var cut = false;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.CopyToAsync(kept);
        }
        catch (IOException)
        {
            cut = true;
        }
        catch (HttpRequestException)
        {
            cut = true;
        }

        return new RawReply((int)response.StatusCode, response.Headers, response.Content.Headers.ContentType, Encoding.UTF8.GetString(kept.ToArray()), cut);
    }
}

public sealed record RawReply(int Status, HttpResponseHeaders Headers, MediaTypeHeaderValue? ContentType, string Body, bool ConnectionCut)
{
    public string? Header(string name) => Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
