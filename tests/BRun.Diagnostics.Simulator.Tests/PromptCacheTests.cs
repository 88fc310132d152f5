using System.Text.Json;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>The simulator marks every answer as simulated and reports prompt caching as the API does.</summary>
public class PromptCacheTests(SimulatorFixture simulator) : IClassFixture<SimulatorFixture>
{
    // About 1,500 tokens at 4 characters a token: above the 1,024-token minimum.
    private static readonly string LongPrefix = string.Concat(Enumerable.Repeat("Shared instructions for every conversation. ", 140));

    [Theory]
    [InlineData(SimulatorScenario.Complete)]
    [InlineData(SimulatorScenario.RateLimitedPersistent)]
    public async Task EveryAnswer_SaysItIsSimulated(SimulatorScenario scenario)
    {
        var reply = await simulator.PostAsync($"{scenario.Marker()} {Guid.NewGuid():N}", stream: false);

        Assert.Equal("true", reply.Header("x-brun-simulated"));
    }

    [Fact]
    public async Task ACachedPrefix_IsWrittenOnFirstUse_AndReadAfterwards()
    {
        var prefix = LongPrefix + Guid.NewGuid().ToString("N");

        var first = Usage(await simulator.PostBodyAsync(Body(prefix, "task one " + SimulatorScenario.Complete.Marker(), stream: false)), stream: false);
        var second = Usage(await simulator.PostBodyAsync(Body(prefix, "task two " + SimulatorScenario.Complete.Marker(), stream: true)), stream: true);

        Assert.InRange(first.CacheCreationInputTokens!.Value, 1024, 2000);
        Assert.Equal(0, first.CacheReadInputTokens);
        Assert.Equal(0, second.CacheCreationInputTokens);
        Assert.Equal(first.CacheCreationInputTokens, second.CacheReadInputTokens);
        Assert.InRange(second.InputTokens!.Value, 1, 100);
    }

    [Fact]
    public async Task APrefixBelowTheMinimum_IsNotCached()
    {
        var usage = Usage(await simulator.PostBodyAsync(Body("Short shared part. " + Guid.NewGuid(), "task " + SimulatorScenario.Complete.Marker(), stream: false)), stream: false);

        Assert.Equal(0, usage.CacheCreationInputTokens);
        Assert.Equal(0, usage.CacheReadInputTokens);
    }

    private static Usage Usage(RawReply reply, bool stream) =>
        (stream ? SseTranscriptParser.Parse(reply.Body) : MessageBodyParser.Parse(reply.Body)).Usage;

    private static string Body(string prefix, string rest, bool stream) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model"] = "claude-sonnet-4-5",
        ["max_tokens"] = 4096,
        ["stream"] = stream,
        ["messages"] = new object[]
        {
            new Dictionary<string, object>
            {
                ["role"] = "user",
                ["content"] = new object[]
                {
                    new Dictionary<string, object> { ["type"] = "text", ["text"] = prefix, ["cache_control"] = new Dictionary<string, string> { ["type"] = "ephemeral" } },
                    new Dictionary<string, object> { ["type"] = "text", ["text"] = rest },
                },
            },
        },
    });
}
