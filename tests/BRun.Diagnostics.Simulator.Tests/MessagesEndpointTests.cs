using System.Text.Json;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Simulator.Tests;

public class MessagesEndpointTests(SimulatorFixture simulator) : IClassFixture<SimulatorFixture>
{
    private static string Prompt(SimulatorScenario scenario, string note) => $"{scenario.Marker()} {note} {Guid.NewGuid():N}";

    [Fact]
    public async Task Complete_Json_IsAMessageWhoseTextIsAValidConversation()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "json"), stream: false, maxTokens: 4096);

        Assert.Equal(200, reply.Status);
        Assert.Equal("application/json", reply.ContentType?.MediaType);
        var parsed = MessageBodyParser.Parse(reply.Body);
        Assert.Equal(BodyKind.Message, parsed.Kind);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.StartsWith("msg_", parsed.Id, StringComparison.Ordinal);
        Assert.Equal("claude-sonnet-4-5", parsed.Model);
        Assert.InRange(parsed.Usage.OutputTokens!.Value, 1, 4096);
        ConversationShape.AssertValid(parsed.Text);
    }

    [Fact]
    public async Task Complete_Json_OutputTokensAreAboutAQuarterOfTheCharacters()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "tokens"), stream: false);

        var parsed = MessageBodyParser.Parse(reply.Body);
        Assert.Equal((parsed.Text.Length + 3) / 4, parsed.Usage.OutputTokens);
    }

    [Fact]
    public async Task EveryReply_CarriesARequestId()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "headers"), stream: false);

        Assert.StartsWith("req_", reply.Header("request-id"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutConfiguredLimits_NoRateLimitHeadersAreSent()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "no limits"), stream: false);

        Assert.Null(reply.Header("anthropic-ratelimit-requests-limit"));
    }

    [Fact]
    public async Task Complete_Stream_IsACompletedTranscriptWithEventsInWireOrder()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "sse"), stream: true);

        Assert.Equal("text/event-stream", reply.ContentType?.MediaType);
        var parsed = SseTranscriptParser.Parse(reply.Body);
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.False(parsed.DroppedTornEvent);
        ConversationShape.AssertValid(parsed.Text);
        var events = EventNames(reply.Body);
        Assert.Equal(["message_start", "content_block_start", "ping"], events.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3));
        Assert.All(events.Skip(3).SkipLast(3), name => Assert.Equal("content_block_delta", name));
    }

    [Fact]
    public async Task SamePrompt_GivesTheSameText_StreamedOrNot()
    {
        var prompt = Prompt(SimulatorScenario.Complete, "determinism");

        var json = MessageBodyParser.Parse((await simulator.PostAsync(prompt, stream: false)).Body);
        var sse = SseTranscriptParser.Parse((await simulator.PostAsync(prompt, stream: true)).Body);

        Assert.Equal(json.Text, sse.Text);
    }

    [Fact]
    public async Task Prompt_PersonaLine_IsUsedInTheMetadata()
    {
        var prompt = Prompt(SimulatorScenario.Complete, "\nPersona: nervous_first_time_investor\nEmotional arc: fear_to_confidence\n");

        var parsed = MessageBodyParser.Parse((await simulator.PostAsync(prompt, stream: false)).Body);

        Assert.Equal("nervous_first_time_investor", ConversationShape.AssertValid(parsed.Text));
    }

    [Fact]
    public async Task MaxTokens_IsCutAtMaxTokensTimesFourCharacters()
    {
        var parsed = SseTranscriptParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.MaxTokens, "cut"), stream: true, maxTokens: 500)).Body);

        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.Equal("max_tokens", parsed.StopReason);
        Assert.Equal(500, parsed.Usage.OutputTokens);
        Assert.InRange(parsed.Text.Length, 1999, 2000);
        Assert.False(ConversationShape.IsJson(parsed.Text));
    }

    [Fact]
    public async Task Complete_WithATinyMaxTokens_BecomesAnHonestMaxTokensCut()
    {
        var parsed = MessageBodyParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.Complete, "tiny"), stream: false, maxTokens: 20)).Body);

        Assert.Equal("max_tokens", parsed.StopReason);
        Assert.Equal(20, parsed.Usage.OutputTokens);
    }

    [Fact]
    public async Task EndTurnCut_EndsTurnNearAThousandTokens_WithABackslashOrMidWordEnding()
    {
        var parsed = MessageBodyParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.EndTurnCut, "mystery"), stream: false, maxTokens: 24_576)).Body);

        Assert.Equal("end_turn", parsed.StopReason);
        Assert.InRange(parsed.Usage.OutputTokens!.Value, 900, 1_300);
        Assert.False(ConversationShape.IsJson(parsed.Text));
        var last = parsed.Text[^1];
        Assert.True(last == '\\' || char.IsAsciiLetterLower(last), $"ends with '{last}'");
    }

    [Fact]
    public async Task EndTurnCut_Streamed_HasTheSameEndings()
    {
        var prompts = Enumerable.Range(0, 12).Select(i => Prompt(SimulatorScenario.EndTurnCut, $"ending {i}"));
        var endings = new List<char>();
        foreach (var prompt in prompts)
        {
            var parsed = SseTranscriptParser.Parse((await simulator.PostAsync(prompt, stream: true)).Body);
            Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
            Assert.Equal("end_turn", parsed.StopReason);
            endings.Add(parsed.Text[^1]);
        }

        Assert.All(endings, last => Assert.True(last == '\\' || char.IsAsciiLetterLower(last)));
    }

    [Fact]
    public async Task StreamCut_ClosesTheConnectionBeforeMessageStop()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.StreamCut, "reset"), stream: true);

        Assert.True(reply.ConnectionCut);
        var parsed = SseTranscriptParser.Parse(reply.Body);
        Assert.Equal(StreamOutcome.CutBeforeMessageStop, parsed.StreamOutcome);
        Assert.Null(parsed.StopReason);
        Assert.NotEmpty(parsed.Text);
        Assert.DoesNotContain("message_delta", EventNames(reply.Body));
    }

    [Fact]
    public async Task StreamCut_OnAJsonRequest_SendsHalfABodyThenResets()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.StreamCut, "json reset"), stream: false);

        Assert.True(reply.ConnectionCut);
        Assert.Equal(BodyKind.NotJson, MessageBodyParser.Parse(reply.Body).Kind);
    }

    [Fact]
    public async Task StreamError_CarriesAnOverloadedErrorEvent()
    {
        var parsed = SseTranscriptParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.StreamError, "error event"), stream: true)).Body);

        Assert.Equal(StreamOutcome.ErrorEvent, parsed.StreamOutcome);
        Assert.Equal("overloaded_error", parsed.ErrorType);
    }

    [Fact]
    public async Task Refusal_HasStopDetailsAndOnlyAFewTokens()
    {
        var parsed = MessageBodyParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.Refusal, "refuse"), stream: false)).Body);

        Assert.Equal("refusal", parsed.StopReason);
        Assert.NotNull(parsed.StopDetailsExplanation);
        Assert.InRange(parsed.Usage.OutputTokens!.Value, 1, 20);
    }

    [Fact]
    public async Task Refusal_Streamed_CarriesStopDetailsInMessageDelta()
    {
        var parsed = SseTranscriptParser.Parse((await simulator.PostAsync(Prompt(SimulatorScenario.Refusal, "refuse sse"), stream: true)).Body);

        Assert.Equal("refusal", parsed.StopReason);
        Assert.NotNull(parsed.StopDetailsExplanation);
    }

    [Fact]
    public async Task RateLimited_Fails429WithRetryAfterOnce_ThenSucceeds()
    {
        var prompt = Prompt(SimulatorScenario.RateLimited, "transient 429");

        var first = await simulator.PostAsync(prompt, stream: false);
        var second = await simulator.PostAsync(prompt, stream: false);

        Assert.Equal(429, first.Status);
        Assert.Equal("1", first.Header("retry-after"));
        var error = MessageBodyParser.Parse(first.Body);
        Assert.Equal(BodyKind.ApiError, error.Kind);
        Assert.Equal("rate_limit_error", error.ErrorType);
        Assert.Equal(first.Header("request-id"), error.BodyRequestId);
        Assert.Equal(200, second.Status);
        ConversationShape.AssertValid(MessageBodyParser.Parse(second.Body).Text);
    }

    [Fact]
    public async Task Overloaded_Fails529Once_ThenSucceeds()
    {
        var prompt = Prompt(SimulatorScenario.Overloaded, "transient 529");

        var first = await simulator.PostAsync(prompt, stream: true);
        var second = await simulator.PostAsync(prompt, stream: true);

        Assert.Equal(529, first.Status);
        Assert.Equal("overloaded_error", MessageBodyParser.Parse(first.Body).ErrorType);
        Assert.Null(first.Header("retry-after"));
        Assert.Equal(StreamOutcome.Completed, SseTranscriptParser.Parse(second.Body).StreamOutcome);
    }

    [Fact]
    public async Task RateLimitedPersistent_Always429s()
    {
        var prompt = Prompt(SimulatorScenario.RateLimitedPersistent, "spend");

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await simulator.PostAsync(prompt, stream: false)).Status);
        }

        Assert.Equal([429, 429, 429, 429], statuses);
        Assert.Equal(4, simulator.Server.AttemptsFor(prompt));
    }

    [Fact]
    public async Task BadGatewayHtml_IsAnHtmlPageThatIsNotJson()
    {
        var reply = await simulator.PostAsync(Prompt(SimulatorScenario.BadGatewayHtml, "proxy"), stream: true);

        Assert.Equal(502, reply.Status);
        Assert.Equal("text/html", reply.ContentType?.MediaType);
        Assert.Equal(BodyKind.NotJson, MessageBodyParser.Parse(reply.Body).Kind);
    }

    [Fact]
    public async Task MissingMaxTokens_IsAnInvalidRequestError()
    {
        var reply = await simulator.PostBodyAsync("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(400, reply.Status);
        Assert.Equal("invalid_request_error", MessageBodyParser.Parse(reply.Body).ErrorType);
    }

    [Fact]
    public async Task ContentBlockArrays_AreReadAsThePrompt()
    {
        var prompt = Prompt(SimulatorScenario.RateLimitedPersistent, "blocks");
        var body = JsonSerializer.Serialize(new
        {
            model = "m",
            max_tokens = 100,
            messages = new[] { new { role = "user", content = new[] { new { type = "text", text = prompt } } } },
        });

        var reply = await simulator.PostBodyAsync(body);

        Assert.Equal(429, reply.Status);
    }

    private static List<string> EventNames(string transcript) =>
        transcript.Split('\n')
            .Where(line => line.StartsWith("event: ", StringComparison.Ordinal))
            .Select(line => line["event: ".Length..])
            .ToList();

    [Fact]
    public async Task A_resent_prompt_that_was_cut_is_answered_afresh_and_a_new_simulator_with_the_same_seed_replays_both_answers()
    {
        // A prompt (no marker) whose first draw is a max_tokens cut and whose second is a complete answer.
        var options = SimulatorFixture.TestOptions();
        var prompt = Enumerable.Range(0, 10_000).Select(i => $"Re-queued conversation {i} {Guid.NewGuid():N}").First(p =>
            SimulatorScenarioPicker.Pick(p, options, stream: false) == SimulatorScenario.MaxTokens
            && SimulatorScenarioPicker.Pick(SimulatorScenarioPicker.DrawKey(p, 2, options, stream: false), options, stream: false) == SimulatorScenario.Complete);

        var first = MessageBodyParser.Parse((await simulator.PostAsync(prompt, stream: false)).Body);
        var second = MessageBodyParser.Parse((await simulator.PostAsync(prompt, stream: false)).Body);
        await using var replay = await ClaudeSimulatorServer.StartAsync(SimulatorFixture.TestOptions());
        using var http = new HttpClient();
        var replayedFirst = MessageBodyParser.Parse((await SimulatorFixture.PostAsync(http, replay.BaseUrl, prompt, stream: false)).Body);
        var replayedSecond = MessageBodyParser.Parse((await SimulatorFixture.PostAsync(http, replay.BaseUrl, prompt, stream: false)).Body);

        Assert.Equal(("max_tokens", "end_turn"), (first.StopReason, second.StopReason));
        Assert.Equal((first.Text, second.Text), (replayedFirst.Text, replayedSecond.Text));
    }
}
