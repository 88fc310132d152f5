using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>The simulated Message Batches API over HTTP: create, retrieve, list, cancel, delete, results.</summary>
public sealed class BatchesEndpointTests : IAsyncLifetime
{
    private ClaudeSimulatorServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions
        {
            MinLatency = TimeSpan.Zero,
            MaxLatency = TimeSpan.Zero,
            BatchProcessingTime = TimeSpan.Zero,
            BatchExpiredRate = 0,
            BatchInvalidRequestRate = 0,
        });
        _http = new HttpClient { BaseAddress = _server.BaseUrl };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static object Request(string customId, string prompt, bool stream = false) => new
    {
        custom_id = customId,
        @params = new { model = "claude-sonnet-4-5", max_tokens = 1024, stream, messages = new[] { new { role = "user", content = prompt } } },
    };

    private async Task<JsonElement> CreateAsync(params object[] requests)
    {
        using var response = await _http.PostAsJsonAsync("/v1/messages/batches", new { requests });
        Assert.Equal(200, (int)response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private async Task<List<BatchResultLine>> ResultsAsync(string id)
    {
        var body = await _http.GetStringAsync($"/v1/messages/batches/{id}/results");
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(BatchResultLine.Parse).ToList();
    }

    [Fact]
    public async Task Create_ReturnsAMessageBatch_ThatHasEndedWithItsCounts()
    {
        var created = await CreateAsync(Request("a", "one"), Request("b", "two"));
        var id = created.GetProperty("id").GetString()!;

        var batch = JsonDocument.Parse(await _http.GetStringAsync($"/v1/messages/batches/{id}")).RootElement;

        Assert.StartsWith("msgbatch_", id, StringComparison.Ordinal);
        Assert.Equal("message_batch", batch.GetProperty("type").GetString());
        Assert.Equal("ended", batch.GetProperty("processing_status").GetString());
        Assert.Equal(2, batch.GetProperty("request_counts").GetProperty("succeeded").GetInt32());
        Assert.EndsWith($"/v1/messages/batches/{id}/results", batch.GetProperty("results_url").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_AreOneLinePerRequest_NotInRequestOrder_AndIdenticalOnEveryDownload()
    {
        var requests = Enumerable.Range(0, 30).Select(i => Request($"r{i}", $"prompt {i}")).ToArray();
        var id = (await CreateAsync(requests)).GetProperty("id").GetString()!;

        var first = await _http.GetStringAsync($"/v1/messages/batches/{id}/results");
        var again = await _http.GetStringAsync($"/v1/messages/batches/{id}/results");
        var ids = first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => BatchResultLine.Parse(l).CustomId).ToList();

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"r{i}").Order(), ids.Order());
        Assert.NotEqual(Enumerable.Range(0, 30).Select(i => $"r{i}"), ids);
        Assert.Equal(first, again);
    }

    [Fact]
    public async Task ResultsDownload_SaysItIsSimulated_SoRowsBuiltFromItAreMarked()
    {
        var id = (await CreateAsync(Request("a", "one"))).GetProperty("id").GetString()!;

        using var response = await _http.GetAsync($"/v1/messages/batches/{id}/results");

        Assert.Equal("true", Assert.Single(response.Headers.GetValues(CapturedBody.SimulatedHeader)));
    }

    [Fact]
    public async Task BatchRoutes_RefuseACallWithoutAKey_WhenTheSimulatorRequiresOne()
    {
        await using var strict = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { RequireApiKey = true, BatchProcessingTime = TimeSpan.Zero });
        using var http = new HttpClient { BaseAddress = strict.BaseUrl };

        using var list = await http.GetAsync("/v1/messages/batches");
        using var create = await http.PostAsJsonAsync("/v1/messages/batches", new { requests = new[] { Request("a", "one") } });

        Assert.Equal(401, (int)list.StatusCode);
        Assert.Equal(401, (int)create.StatusCode);
        Assert.Contains("authentication_error", await create.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, strict.BatchCount);
    }

    [Fact]
    public async Task MaxTokensScenario_IsASucceededResult_WhoseStopReasonIsMaxTokens()
    {
        var id = (await CreateAsync(Request("cut", $"{SimulatorScenario.MaxTokens.Marker()} x"))).GetProperty("id").GetString()!;

        var line = Assert.Single(await ResultsAsync(id));

        Assert.Equal(BatchResultType.Succeeded, line.ResultType);
        Assert.Equal("max_tokens", line.Parsed!.StopReason);
        Assert.Equal(1024, line.Parsed.Usage.OutputTokens);
    }

    [Theory]
    [InlineData("[simulate:overloaded]", "errored", "overloaded_error")]
    [InlineData("[simulate:batch_invalid_request]", "errored", "invalid_request_error")]
    [InlineData("[simulate:batch_expired]", "expired", null)]
    public async Task BatchFailures_ComeBackAsTheirResultType(string marker, string type, string? errorType)
    {
        var id = (await CreateAsync(Request("x", $"{marker} {Guid.NewGuid():N}"))).GetProperty("id").GetString()!;

        var line = Assert.Single(await ResultsAsync(id));

        Assert.Equal(type, line.ResultType);
        Assert.Equal(errorType, line.ErrorType);
    }

    [Fact]
    public async Task Cancel_BeforeTheEnd_TurnsUnfinishedRequestsIntoCanceled_AndDeleteThenRemovesIt()
    {
        await using var slow = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { BatchProcessingTime = TimeSpan.FromHours(1) });
        using var http = new HttpClient { BaseAddress = slow.BaseUrl };
        using var create = await http.PostAsJsonAsync("/v1/messages/batches", new { requests = new[] { Request("a", "one") } });
        var id = JsonDocument.Parse(await create.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        using (var early = await http.DeleteAsync($"/v1/messages/batches/{id}"))
        {
            Assert.Equal(400, (int)early.StatusCode);
        }

        using var cancel = await http.PostAsync($"/v1/messages/batches/{id}/cancel", null);
        var canceling = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement;
        var ended = JsonDocument.Parse(await http.GetStringAsync($"/v1/messages/batches/{id}")).RootElement;
        var results = await http.GetStringAsync($"/v1/messages/batches/{id}/results");
        using var delete = await http.DeleteAsync($"/v1/messages/batches/{id}");
        using var gone = await http.GetAsync($"/v1/messages/batches/{id}");

        Assert.Equal("canceling", canceling.GetProperty("processing_status").GetString());
        Assert.Equal("ended", ended.GetProperty("processing_status").GetString());
        Assert.Equal(1, ended.GetProperty("request_counts").GetProperty("canceled").GetInt32());
        Assert.Equal(BatchResultType.Canceled, BatchResultLine.Parse(results.Trim()).ResultType);
        Assert.Equal(200, (int)delete.StatusCode);
        Assert.Equal(404, (int)gone.StatusCode);
    }

    [Fact]
    public async Task List_IsNewestFirst_AndPagesWithAfterId()
    {
        var first = (await CreateAsync(Request("a", "1"))).GetProperty("id").GetString();
        var second = (await CreateAsync(Request("a", "2"))).GetProperty("id").GetString();

        var page = JsonDocument.Parse(await _http.GetStringAsync("/v1/messages/batches?limit=1")).RootElement;
        var next = JsonDocument.Parse(await _http.GetStringAsync($"/v1/messages/batches?limit=1&after_id={second}")).RootElement;

        Assert.Equal(second, page.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal(first, next.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("{\"requests\":[]}")]
    [InlineData("{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}},{\"custom_id\":\"a\",\"params\":{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}}]}")]
    [InlineData("{\"requests\":[{\"custom_id\":\"has space\",\"params\":{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}}]}")]
    [InlineData("{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,\"messages\":[]}}]}")]
    public async Task Create_RefusesEmptyDuplicateMalformedOrStreamingRequests(string body)
    {
        using var response = await _http.PostAsync("/v1/messages/batches", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("invalid_request_error", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
