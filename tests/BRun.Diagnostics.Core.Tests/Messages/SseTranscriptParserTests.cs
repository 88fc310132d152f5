using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Tests.Messages;

public class SseTranscriptParserTests
{
    internal const string Start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n";
    internal const string BlockStart = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    private const string Stop = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    private static string Delta(string jsonEscapedText, int index = 0) =>
        $"event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"text_delta\",\"text\":\"{jsonEscapedText}\"}}}}\n\n";

    [Fact]
    public void Parse_ReassemblesTextSplitInsideAnEscape()
    {
        // The content text is itself JSON: one delta ends with its backslash, the next starts with the quote.
        var transcript = Start + BlockStart + Delta("say \\\\") + Delta("\\\"hi\\\\\\\"") + Stop;

        var parsed = SseTranscriptParser.Parse(transcript);

        Assert.Equal("say \\\"hi\\\"", parsed.Text);
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.Equal("end_turn", parsed.StopReason);
    }

    [Fact]
    public void Parse_TakesUsageFromStartAndDelta()
    {
        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta("x") + Stop);

        Assert.Equal(7, parsed.Usage.InputTokens);
        Assert.Equal(42, parsed.Usage.OutputTokens);
        Assert.Equal("msg_1", parsed.Id);
    }

    [Fact]
    public void Parse_StreamWithoutMessageStopIsCut()
    {
        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta("Hello wor"));

        Assert.Equal(StreamOutcome.CutBeforeMessageStop, parsed.StreamOutcome);
        Assert.Equal(BodyKind.Message, parsed.Kind);
        Assert.Equal("Hello wor", parsed.Text);
        Assert.False(parsed.DroppedTornEvent);
    }

    [Fact]
    public void Parse_DropsATornLastEvent()
    {
        var torn = Delta(" and more")[..30];

        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta("Hello") + torn);

        Assert.True(parsed.DroppedTornEvent);
        Assert.Equal("Hello", parsed.Text);
        Assert.Equal(3, parsed.EventCount);
    }

    [Fact]
    public void Parse_ErrorEventEndsTheStream()
    {
        var parsed = SseTranscriptParser.Parse(FixtureFiles.Read("stream-error-00.sse"));

        Assert.Equal(StreamOutcome.ErrorEvent, parsed.StreamOutcome);
        Assert.Equal(BodyKind.ApiError, parsed.Kind);
        Assert.Equal("overloaded_error", parsed.ErrorType);
        Assert.Equal("Overloaded", parsed.ErrorMessage);
        Assert.EndsWith("saved for r", parsed.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcceptsCrLfCommentsPingsUnknownEventsAndMultiLineData()
    {
        var transcript = (": keep-alive\n" + Start + "event: ping\ndata: {\"type\": \"ping\"}\n\n"
            + "event: future_event\ndata: {\"type\":\"future_event\"}\n\n"
            + BlockStart
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\n"
            + "data: \"delta\":{\"type\":\"text_delta\",\"text\":\"ok.\"}}\n\n"
            + Stop).ReplaceLineEndings("\r\n");

        var parsed = SseTranscriptParser.Parse(transcript);

        Assert.Equal("ok.", parsed.Text);
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.Null(parsed.ParseProblem);
    }

    [Fact]
    public void Parse_OrdersBlocksByIndexAndSkipsNonTextBlocks()
    {
        var thinking = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n";
        var text = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"A\"}}\n\n";

        var parsed = SseTranscriptParser.Parse(Start + thinking + text + Delta("B", 1) + Stop);

        Assert.Equal("AB", parsed.Text);
        Assert.Equal(["thinking", "text"], parsed.ContentBlockTypes);
    }

    [Fact]
    public void Parse_ReportsEventDataThatIsNotJson()
    {
        var parsed = SseTranscriptParser.Parse(Start + "event: content_block_delta\ndata: {not json\n\n" + Stop);

        Assert.Contains("Event 2 (content_block_delta)", parsed.ParseProblem, StringComparison.Ordinal);
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
    }

    [Fact]
    public void Parse_StreamWithoutMessageStartIsAnUnexpectedShape()
    {
        var parsed = SseTranscriptParser.Parse("event: ping\ndata: {\"type\":\"ping\"}\n\n");

        Assert.Equal(BodyKind.UnexpectedShape, parsed.Kind);
        Assert.Contains("no message_start", parsed.ParseProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyTranscriptIsEmptyAndCut()
    {
        var parsed = SseTranscriptParser.Parse(string.Empty);

        Assert.Equal(BodyKind.Empty, parsed.Kind);
        Assert.Equal(StreamOutcome.CutBeforeMessageStop, parsed.StreamOutcome);
    }

    [Fact]
    public void Parse_ReadsStopDetailsFromMessageDelta()
    {
        var refusal = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\",\"stop_details\":{\"type\":\"refusal\",\"category\":\"cyber\",\"explanation\":\"No.\"}},\"usage\":{\"output_tokens\":3}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

        var parsed = SseTranscriptParser.Parse(Start + refusal);

        Assert.Equal("refusal", parsed.StopReason);
        Assert.Equal("cyber", parsed.StopDetailsCategory);
        Assert.Equal("No.", parsed.StopDetailsExplanation);
    }

    [Theory]
    [InlineData("event: x\n", true)]
    [InlineData("  data: {}", true)]
    [InlineData(": comment", true)]
    [InlineData("{\"type\":\"message\"}", false)]
    public void LooksLikeSse_ChecksTheFirstField(string body, bool expected)
    {
        Assert.Equal(expected, SseTranscriptParser.LooksLikeSse(body));
    }
}
