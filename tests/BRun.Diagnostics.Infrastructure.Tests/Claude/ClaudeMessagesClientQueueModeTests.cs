using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Claude;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>The client as the pipeline uses it: HTTP errors go back to the queue, the simulated marker and prompt caching.</summary>
public class ClaudeMessagesClientQueueModeTests
{
    [Fact]
    public async Task WithTheQueueOwningRetries_A429IsReturnedAtOnce()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "3"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.RetryHttpErrors = false);

        var captured = await harness.Client.SendAsync(new ClaudeRequest("Write a conversation."), CancellationToken.None);

        Assert.Equal(429, captured.HttpStatus);
        Assert.Single(server.Requests);
        Assert.Equal("3", captured.RateLimitHeaders["retry-after"]);
    }

    [Fact]
    public async Task TheSimulatedHeader_IsCaptured()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Sse("stream-complete-00.sse").WithHeader("x-brun-simulated", "true"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var simulated = await harness.Client.SendAsync(new ClaudeRequest("a"), CancellationToken.None);
        var real = await harness.Client.SendAsync(new ClaudeRequest("b"), CancellationToken.None);

        Assert.True(simulated.Simulated);
        Assert.False(real.Simulated);
    }

    [Fact]
    public async Task TheSharedPrefix_IsSentAsItsOwnBlockWithACacheBreakpoint()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(new ClaudeRequest("Shared instructions.\nPersona: p1") { CachePrefixLength = 21 }, CancellationToken.None);

        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        var blocks = body.RootElement.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal(2, blocks.GetArrayLength());
        Assert.Equal("Shared instructions.\n", blocks[0].GetProperty("text").GetString());
        Assert.Equal("ephemeral", blocks[0].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.Equal("Persona: p1", blocks[1].GetProperty("text").GetString());
        Assert.False(blocks[1].TryGetProperty("cache_control", out _));
    }
}
