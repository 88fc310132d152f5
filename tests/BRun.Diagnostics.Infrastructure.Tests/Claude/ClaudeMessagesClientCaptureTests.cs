using System.Text.Json;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

public class ClaudeMessagesClientCaptureTests
{
    private static readonly ClaudeRequest Request = new("Write a conversation.\nPersona: anxious_pre_retiree");

    [Fact]
    public async Task JsonBody_IsCapturedByteForByte()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Json(200, "complete-000.json"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.Stream = false);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(Fixtures.Text("complete-000.json"), captured.RawBody);
        Assert.Equal(200, captured.HttpStatus);
        Assert.False(captured.Streamed);
        Assert.Equal(BodyKind.Message, captured.Parsed.Kind);
        Assert.Equal("end_turn", captured.Parsed.StopReason);
        Assert.Equal(1, captured.Attempts);
        Assert.Equal(TransportFailure.None, captured.Transport);
    }

    [Fact]
    public async Task Headers_KeepRequestIdRateLimitAndRetryHeaders_AndNothingElse()
    {
        var reply = ScriptedReply.Json(200, "complete-000.json")
            .WithHeader("request-id", "req_011abc")
            .WithHeader("anthropic-ratelimit-tokens-remaining", "12000")
            .WithHeader("Anthropic-RateLimit-Requests-Reset", "2026-01-01T00:00:30Z")
            .WithHeader("x-should-retry", "false")
            .WithHeader("x-unrelated", "noise");
        await using var server = await ScriptedClaudeServer.StartAsync(reply);
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal("req_011abc", captured.RequestId);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["anthropic-ratelimit-tokens-remaining"] = "12000",
                ["anthropic-ratelimit-requests-reset"] = "2026-01-01T00:00:30Z",
                ["x-should-retry"] = "false",
            },
            captured.RateLimitHeaders);
    }

    [Fact]
    public async Task Request_CarriesTheHeadersAndBodyTheApiExpects()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request with { SystemPrompt = "You write training data." }, CancellationToken.None);

        var sent = Assert.Single(server.Requests);
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal(ClientHarness.ApiKey, sent.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", sent.Headers["anthropic-version"]);
        Assert.Equal("application/json", sent.Headers["content-type"]);
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("claude-sonnet-4-5", root.GetProperty("model").GetString());
        Assert.Equal(4096, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.7m, root.GetProperty("temperature").GetDecimal());
        Assert.Equal("You write training data.", root.GetProperty("system").GetString());
        Assert.Equal(Request.Prompt, root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.True(root.GetProperty("stream").GetBoolean());
        var format = root.GetProperty("output_config").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.False(format.GetProperty("schema").GetProperty("additionalProperties").GetBoolean());
    }

    [Fact]
    public async Task Request_Overrides_ReplaceTheConfiguredValues_AndOmitStreamAndSchema()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Json(200, "complete-000.json"));
        using var harness = new ClientHarness(server.BaseUrl);
        var request = Request with { Model = "claude-haiku-4-5", MaxTokens = 1024, Temperature = 0.2m, Stream = false, StructuredOutputs = false };

        var captured = await harness.Client.SendAsync(request, CancellationToken.None);

        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        var root = body.RootElement;
        Assert.Equal("claude-haiku-4-5", root.GetProperty("model").GetString());
        Assert.Equal(1024, root.GetProperty("max_tokens").GetInt32());
        Assert.False(root.TryGetProperty("stream", out _));
        Assert.False(root.TryGetProperty("output_config", out _));
        Assert.False(root.TryGetProperty("system", out _));
        Assert.Equal(new RequestSnapshot("claude-haiku-4-5", 1024, 0.2m, false, false, Request.Prompt), captured.Request);
    }

    [Fact]
    public void Schema_RespectsTheStructuredOutputLimits()
    {
        using var schema = JsonDocument.Parse(ConversationSchema.Json);

        var objects = Descendants(schema.RootElement).Where(e => e.TryGetProperty("type", out var t) && t.GetString() == "object").ToList();

        Assert.Equal(3, objects.Count);
        Assert.All(objects, o => Assert.False(o.GetProperty("additionalProperties").GetBoolean()));
        Assert.DoesNotContain(Descendants(schema.RootElement), e => e.EnumerateObject().Any(p =>
            p.Name is "minimum" or "maximum" or "minLength" or "maxLength" or "maxItems" or "$ref"
            || (p.Name == "minItems" && p.Value.GetInt32() > 1)));
    }

    [Fact]
    public async Task SseStream_IsCapturedByteForByte_AndParsed()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(Fixtures.Text("stream-complete-00.sse"), captured.RawBody);
        Assert.True(captured.Streamed);
        Assert.Equal(StreamOutcome.Completed, captured.Parsed.StreamOutcome);
        Assert.Equal("end_turn", captured.Parsed.StopReason);
    }

    [Fact]
    public async Task SseStream_CutMidBody_KeepsThePartialTranscript_AndIsNotRetried()
    {
        var sent = Fixtures.Bytes("stream-cut-00.sse");
        var cut = ScriptedReply.Sse("stream-cut-00.sse") with { PromisedLength = sent.Length + 5_000 };
        await using var server = await ScriptedClaudeServer.StartAsync(cut, ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(Fixtures.Text("stream-cut-00.sse"), captured.RawBody);
        Assert.Equal(StreamOutcome.CutBeforeMessageStop, captured.Parsed.StreamOutcome);
        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(1, captured.Attempts);
        Assert.Contains($"closed after {sent.Length} bytes", captured.TransportError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SseStream_ErrorEvent_IsCapturedAsAnErrorEvent_AndIsNotRetried()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-error-00.sse"), ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(StreamOutcome.ErrorEvent, captured.Parsed.StreamOutcome);
        Assert.Equal("overloaded_error", captured.Parsed.ErrorType);
        Assert.Equal(1, captured.Attempts);
    }

    [Fact]
    public async Task StreamRequest_AnsweredWithAJsonError_IsCapturedAsJson()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Json(400, "error-429-00.json"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.False(captured.Streamed);
        Assert.True(captured.Request.Stream);
        Assert.Equal(BodyKind.ApiError, captured.Parsed.Kind);
    }

    [Fact]
    public async Task Body_LargerThanMaxBodyBytes_IsCappedAndSaysSo()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.MaxBodyBytes = 1_000);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(Fixtures.Text("stream-complete-00.sse")[..1_000], captured.RawBody);
        Assert.Contains("MaxBodyBytes (1000)", captured.TransportError, StringComparison.Ordinal);
        Assert.Equal(StreamOutcome.CutBeforeMessageStop, captured.Parsed.StreamOutcome);
    }

    private static IEnumerable<JsonElement> Descendants(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            yield return element;
            foreach (var property in element.EnumerateObject())
            {
                foreach (var inner in Descendants(property.Value))
                {
                    yield return inner;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var inner in Descendants(item))
                {
                    yield return inner;
                }
            }
        }
    }
}
