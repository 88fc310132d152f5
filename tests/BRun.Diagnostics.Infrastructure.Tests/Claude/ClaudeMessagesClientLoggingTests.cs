using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

public class ClaudeMessagesClientLoggingTests
{
    private const string SecretPrompt = "PROMPT-TEXT-that-must-not-be-logged";
    private static readonly ClaudeRequest Request = new(SecretPrompt);

    [Fact]
    public async Task EveryCall_LogsStopReasonOutputTokensAndMaxTokens()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        var entry = Assert.Single(harness.Logs.Entries, e => e.EventId.Id == Log.ClaudeResponseId);
        Assert.Equal(LogLevel.Information, entry.Level);
        var state = entry.State.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("end_turn", state["StopReason"]);
        Assert.Equal(4096, state["MaxTokens"]);
        Assert.NotNull(state["OutputTokens"]);
        Assert.DoesNotContain(harness.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task MaxTokensStop_LogsAWarning()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-maxtok-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        var warning = Assert.Single(harness.Logs.Entries, e => e.EventId.Id == Log.ClaudeResponseCutId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("max_tokens", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CutStream_LogsAWarning()
    {
        var cut = ScriptedReply.Sse("stream-cut-00.sse") with { PromisedLength = 100_000 };
        await using var server = await ScriptedClaudeServer.StartAsync(cut);
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Contains(harness.Logs.Entries, e => e.EventId.Id == Log.ClaudeResponseCutId && e.Message.Contains("CutBeforeMessageStop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_LogsAWarningWithStatusAndDelay()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "2"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        var retry = Assert.Single(harness.Logs.Entries, e => e.EventId.Id == Log.ClaudeRetryingId);
        Assert.Equal(LogLevel.Warning, retry.Level);
        var state = retry.State.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(429, state["Status"]);
        Assert.Equal(TimeSpan.FromSeconds(2), state["Delay"]);
    }

    [Fact]
    public async Task ApiKeyAndPrompt_NeverAppearInLogs_AndTheKeyNeverInTheCapture()
    {
        var captures = new List<string>();
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "1"),
            ScriptedReply.Sse("stream-maxtok-00.sse"),
            ScriptedReply.Html(502, "junk-html.json"),
            ScriptedReply.Html(502, "junk-html.json"),
            ScriptedReply.Html(502, "junk-html.json"));
        using var harness = new ClientHarness(server.BaseUrl);
        using var refused = new ClientHarness(new Uri("http://127.0.0.1:1"));

        captures.Add(JsonSerializer.Serialize(await harness.Client.SendAsync(Request, CancellationToken.None)));
        captures.Add(JsonSerializer.Serialize(await harness.Client.SendAsync(Request, CancellationToken.None)));
        captures.Add(JsonSerializer.Serialize(await refused.Client.SendAsync(Request, CancellationToken.None)));

        var logs = harness.Logs.Entries.Concat(refused.Logs.Entries).ToList();
        Assert.NotEmpty(logs);
        Assert.All(logs, e => Assert.DoesNotContain(ClientHarness.ApiKey, e.Message, StringComparison.Ordinal));
        Assert.All(logs, e => Assert.DoesNotContain(SecretPrompt, e.Message, StringComparison.Ordinal));
        Assert.All(logs.SelectMany(e => e.State), p => Assert.DoesNotContain(ClientHarness.ApiKey, p.Value?.ToString() ?? string.Empty, StringComparison.Ordinal));
        Assert.All(captures, c => Assert.DoesNotContain(ClientHarness.ApiKey, c, StringComparison.Ordinal));
    }
}
