using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Validation;

public class ResponseValidatorTests
{
    private static readonly string GoodText = ConversationJson.Build(("user", "Where do I start?"), ("assistant", "With one small step."));
    private static readonly ResponseContext Http200 = new(200, MaxTokens: 4096);

    private readonly ResponseValidator _validator = new();

    private static ParsedMessage Message(string text, string? stopReason = "end_turn") => new()
    {
        Kind = BodyKind.Message,
        StopReason = stopReason,
        Text = text,
        ContentBlockTypes = ["text"],
        Usage = new Usage(100, 50, 0, 0),
    };

    [Fact]
    public void Validate_AcceptsACompleteConversation()
    {
        var result = _validator.Validate(Message(GoodText), Http200);

        Assert.True(result.IsOk);
        Assert.Equal(2, result.Conversation.Turns.Count);
        Assert.Equal(ConversationRole.Assistant, result.Conversation.Turns[1].Role);
        Assert.Equal("end_turn", result.StopReason);
    }

    [Theory]
    [InlineData("max_tokens", FailureType.Truncation, "max_tokens")]
    [InlineData("model_context_window_exceeded", FailureType.Truncation, "model_context_window_exceeded")]
    [InlineData("refusal", FailureType.ValidationError, "refusal")]
    [InlineData("stop_sequence", FailureType.ValidationError, "unexpected_stop_reason")]
    [InlineData("tool_use", FailureType.ValidationError, "unexpected_stop_reason")]
    [InlineData("pause_turn", FailureType.ValidationError, "unexpected_stop_reason")]
    [InlineData("compaction", FailureType.ValidationError, "unexpected_stop_reason")]
    [InlineData(null, FailureType.ValidationError, "missing_stop_reason")]
    public void Validate_RejectsEveryStopReasonButEndTurn(string? stopReason, FailureType type, string pattern)
    {
        var result = _validator.Validate(Message(GoodText, stopReason), Http200);

        Assert.Equal(type, result.Failure?.Type);
        Assert.Equal(pattern, result.Failure?.Pattern);
        Assert.Equal(stopReason, result.StopReason);
    }

    [Fact]
    public void Validate_KeepsAnUnknownStopReasonVerbatimInTheDetails()
    {
        var result = _validator.Validate(Message(GoodText, "brand_new_reason"), Http200);

        Assert.Contains("\"brand_new_reason\"", result.Failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_IncludesTheRefusalCategoryAndExplanation()
    {
        var message = Message("{\"conversation_metadata\": {\"pe", "refusal") with
        {
            StopDetailsCategory = "cyber",
            StopDetailsExplanation = "The request was declined.",
        };

        var details = _validator.Validate(message, Http200).Failure?.Details;

        Assert.Contains("cyber", details, StringComparison.Ordinal);
        Assert.Contains("The request was declined.", details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MaxTokensSaysWhereTheJsonWasCutAndTheTokenCounts()
    {
        var failure = _validator.Validate(Message(GoodText[..40], "max_tokens"), Http200).Failure;

        Assert.Equal(Confidence.High, failure?.Confidence);
        Assert.Contains("output_tokens 50", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("max_tokens 4096", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("below the configured max_tokens", failure?.Details, StringComparison.Ordinal);
        Assert.Equal(40, failure?.ContentOffset);
    }

    [Fact]
    public void Validate_MaxTokensWithCompleteJsonIsOnlyMediumConfidence()
    {
        var failure = _validator.Validate(Message(GoodText, "max_tokens"), Http200).Failure;

        Assert.Equal(Confidence.Medium, failure?.Confidence);
    }

    [Theory]
    [InlineData(TransportFailure.Timeout, "transport_timeout")]
    [InlineData(TransportFailure.ConnectionFailed, "transport_connection_failed")]
    [InlineData(TransportFailure.Canceled, "transport_canceled")]
    public void Validate_TransportFailureIsAnApiError(TransportFailure transport, string pattern)
    {
        var empty = MessageBodyParser.Parse(string.Empty);

        var failure = _validator.Validate(empty, new ResponseContext(null, transport, "The operation timed out.")).Failure;

        Assert.Equal(FailureType.ApiError, failure?.Type);
        Assert.Equal(pattern, failure?.Pattern);
        Assert.Contains("The operation timed out.", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ErrorBodyUsesTheErrorTypeAndMessage()
    {
        var body = MessageBodyParser.Parse("""{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"},"request_id":"req_1"}""");

        var failure = _validator.Validate(body, new ResponseContext(400)).Failure;

        Assert.Equal(FailureType.ApiError, failure?.Type);
        Assert.Equal("invalid_request_error", failure?.Pattern);
        Assert.Contains("HTTP 400", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("max_tokens: too big", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("req_1", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HtmlPageWithA502IsAnApiError()
    {
        var body = MessageBodyParser.Parse(FixtureFiles.Read("junk-html.json"));

        var failure = _validator.Validate(body, new ResponseContext(502)).Failure;

        Assert.Equal(FailureType.ApiError, failure?.Type);
        Assert.Equal("http_502", failure?.Pattern);
        Assert.Contains("not JSON", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HtmlPageWithA200IsAParseError()
    {
        var body = MessageBodyParser.Parse(FixtureFiles.Read("junk-html.json"));

        var failure = _validator.Validate(body, Http200).Failure;

        Assert.Equal(FailureType.ParseError, failure?.Type);
        Assert.Equal("not_json", failure?.Pattern);
        Assert.Contains("502 Bad Gateway", failure?.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, FailureType.ParseError, "empty_body")]
    [InlineData(503, FailureType.ApiError, "http_503")]
    public void Validate_EmptyBodySaysSo(int status, FailureType type, string pattern)
    {
        var failure = _validator.Validate(MessageBodyParser.Parse("  "), new ResponseContext(status)).Failure;

        Assert.Equal(type, failure?.Type);
        Assert.Equal(pattern, failure?.Pattern);
        Assert.Contains("empty", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_JsonThatIsNotAMessageIsAParseError()
    {
        var failure = _validator.Validate(MessageBodyParser.Parse("""{"hello": 1}"""), Http200).Failure;

        Assert.Equal(FailureType.ParseError, failure?.Type);
        Assert.Equal("unexpected_body", failure?.Pattern);
    }

    [Fact]
    public void Validate_MessageWithoutTextIsAValidationError()
    {
        var message = Message(string.Empty) with { ContentBlockTypes = ["tool_use"] };

        var failure = _validator.Validate(message, Http200).Failure;

        Assert.Equal(FailureType.ValidationError, failure?.Type);
        Assert.Equal("no_text_content", failure?.Pattern);
        Assert.Contains("tool_use", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ProseInsteadOfJsonIsAParseError()
    {
        var failure = _validator.Validate(Message("Sure! Here is a conversation about budgeting."), Http200).Failure;

        Assert.Equal(FailureType.ParseError, failure?.Type);
        Assert.Equal("invalid_json", failure?.Pattern);
        Assert.Equal(0, failure?.ContentOffset);
    }

    [Fact]
    public void Validate_CompleteJsonThatDoesNotParseIsAParseError()
    {
        // Structurally complete, but 01 is not a valid JSON number: only the real parser catches it.
        var failure = _validator.Validate(Message("{\"turns\": [], \"n\": 01}"), Http200).Failure;

        Assert.Equal(FailureType.ParseError, failure?.Type);
        Assert.Equal("invalid_json", failure?.Pattern);
    }

    [Theory]
    [InlineData("[1, 2]", ConversationReader.NotAConversation)]
    [InlineData("{\"conversation_metadata\": {}}", ConversationReader.NotAConversation)]
    [InlineData("{\"turns\": {}}", ConversationReader.NotAConversation)]
    [InlineData("{\"turns\": [{\"role\": \"narrator\", \"content\": \"x.\"}]}", ConversationReader.InvalidTurn)]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": 5}]}", ConversationReader.InvalidTurn)]
    [InlineData("{\"turns\": [{\"role\": \"assistant\"}]}", ConversationReader.InvalidTurn)]
    [InlineData("{\"turns\": [\"hi\"]}", ConversationReader.InvalidTurn)]
    [InlineData("{\"turns\": [{\"role\": \"user\", \"content\": \"Hi.\"}]}", ConversationReader.NoAssistantTurn)]
    [InlineData("{\"turns\": []}", ConversationReader.NoAssistantTurn)]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \" \"}]}", ConversationReader.EmptyTurn)]
    public void Validate_WrongShapeIsAValidationError(string text, string pattern)
    {
        var failure = _validator.Validate(Message(text), Http200).Failure;

        Assert.Equal(FailureType.ValidationError, failure?.Type);
        Assert.Equal(pattern, failure?.Pattern);
    }

    [Theory]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"Hello wor", "mid_word")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"Hello, \\", "lone_backslash")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"He said \\\"", "escaped_quote")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"dash \\u20", "partial_unicode_escape")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": ", "trailing_colon")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", ", "trailing_comma")]
    [InlineData("{\"turns\": [", "open_bracket")]
    [InlineData("{\"turns\": [{", "open_brace")]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"Hi.\"}", "incomplete_json")]
    [InlineData("{\"turn_count\": 4", "incomplete_json")]
    public void Validate_CutJsonIsATruncationNamedByItsEnding(string text, string pattern)
    {
        var failure = _validator.Validate(Message(text), Http200).Failure;

        Assert.Equal(FailureType.Truncation, failure?.Type);
        Assert.Equal(pattern, failure?.Pattern);
        Assert.Equal(Confidence.High, failure?.Confidence);
        Assert.Equal(text.Length, failure?.ContentOffset);
    }

    [Fact]
    public void Validate_CompleteJsonWithACutLastTurnIsATruncation()
    {
        var text = ConversationJson.Build(("user", "Hi."), ("assistant", "Fine."), ("user", "And?"), ("assistant", "Let's look at it togeth"));

        var failure = _validator.Validate(Message(text), Http200).Failure;

        Assert.Equal(FailureType.Truncation, failure?.Type);
        Assert.Equal("mid_word", failure?.Pattern);
        Assert.Equal(3, failure?.TurnIndex);
        Assert.Contains("turns[3] (the last turn)", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UserTurnsAreNotJudged()
    {
        var text = ConversationJson.Build(("user", "so i was thinking"), ("assistant", "Tell me more."));

        Assert.True(_validator.Validate(Message(text), Http200).IsOk);
    }

    [Fact]
    public void Validate_FiveMegabyteConversationValidates()
    {
        var text = ConversationJson.OfSize(5_000_000);

        var result = _validator.Validate(Message(text), Http200);

        Assert.True(text.Length >= 5_000_000);
        Assert.True(result.IsOk, result.Failure?.Details);
        Assert.True(result.Conversation.Turns.Count > 1000);
    }

    [Fact]
    public void Validate_FiveMegabyteConversationCutNearTheEndIsATruncation()
    {
        var text = ConversationJson.OfSize(5_000_000);
        var cut = text[..(text.Length - 30)];

        var failure = _validator.Validate(Message(cut), Http200).Failure;

        Assert.Equal(FailureType.Truncation, failure?.Type);
        Assert.Equal(cut.Length, failure?.ContentOffset);
        Assert.Contains(".content", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_StreamWithAnUnreadableEventIsAParseError()
    {
        var message = Message(GoodText) with { StreamOutcome = StreamOutcome.Completed, ParseProblem = "Event 5 has data that is not JSON." };

        var failure = _validator.Validate(message, Http200 with { Streamed = true }).Failure;

        Assert.Equal(FailureType.ParseError, failure?.Type);
        Assert.Equal("malformed_stream_event", failure?.Pattern);
    }

    [Fact]
    public void Validate_StreamCutSaysWhatArrived()
    {
        var transcript = FixtureFiles.Read("stream-cut-00.sse");

        var failure = _validator.Validate(SseTranscriptParser.Parse(transcript), Http200 with { Streamed = true }).Failure;

        Assert.Equal("stream_cut", failure?.Pattern);
        Assert.Contains("without message_stop", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("Missing: message_delta with a stop_reason, and message_stop", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("turns[1].content", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CapturedResponseUsesItsStatusAndMaxTokens()
    {
        var captured = new CapturedResponse
        {
            HttpStatus = 200,
            RawBody = string.Empty,
            Streamed = false,
            Parsed = Message(GoodText[..50], "max_tokens") with { Usage = new Usage(1, 1000, 0, 0) },
            Request = new RequestSnapshot("claude-sonnet-4-5", 1000, null, true, false, "prompt"),
        };

        var failure = _validator.Validate(captured).Failure;

        Assert.Equal("max_tokens", failure?.Pattern);
        Assert.Contains("output_tokens 1000, max_tokens 1000.", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CapturedTransportFailureIgnoresTheStatus()
    {
        var captured = new CapturedResponse
        {
            HttpStatus = 0,
            RawBody = string.Empty,
            Streamed = false,
            Parsed = MessageBodyParser.Parse(string.Empty),
            Transport = TransportFailure.Timeout,
            TransportError = "timed out after 30 s",
            Request = new RequestSnapshot("claude-sonnet-4-5", 1000, null, true, false, "prompt"),
        };

        Assert.Equal("transport_timeout", _validator.Validate(captured).Failure?.Pattern);
    }
}
