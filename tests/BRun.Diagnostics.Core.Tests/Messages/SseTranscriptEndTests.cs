using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Messages;

/// <summary>How the end of a transcript is judged, and the words that say what was seen.</summary>
public class SseTranscriptEndTests
{
    private const string Start = SseTranscriptParserTests.Start;
    private const string BlockStart = SseTranscriptParserTests.BlockStart;
    private const string Delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Done.\"}}\n\n";
    private const string MessageDelta = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n";
    private const string MessageStop = "event: message_stop\ndata: {\"type\":\"message_stop\"}";

    private static readonly ResponseValidator Validator = new();

    private static ValidationResult Validate(ParsedMessage parsed) =>
        Validator.Validate(parsed, ResponseContext.SavedFile(streamed: true));

    /// <summary>The stream itself is whole (the text here is prose, so the content checks are not the point).</summary>
    private static void AssertWholeStream(ParsedMessage parsed)
    {
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.Equal(BodyKind.Message, parsed.Kind);
        Assert.Null(parsed.ParseProblem);
        Assert.False(parsed.DroppedTornEvent);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.Equal("Done.", parsed.Text);
    }

    [Theory]
    [InlineData("\n\n", false)]
    [InlineData("\n", true)]
    [InlineData("", true)]
    public void A_complete_message_stop_counts_with_or_without_the_final_blank_line(string ending, bool noted)
    {
        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta + MessageDelta + MessageStop + ending);

        AssertWholeStream(parsed);
        Assert.Equal(noted, parsed.EndedWithoutBlankLine);
    }

    [Fact]
    public void A_final_event_cut_mid_json_is_torn_and_named()
    {
        var torn = MessageStop[..^5];

        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta + MessageDelta + torn);
        var failure = Validate(parsed).Failure;

        Assert.Equal(StreamOutcome.CutBeforeMessageStop, parsed.StreamOutcome);
        Assert.True(parsed.DroppedTornEvent);
        Assert.Equal("message_stop", parsed.TornEventName);
        Assert.Equal("stream_cut", failure?.Pattern);
        Assert.StartsWith(
            "The stream ended without message_stop after 4 complete events (the last a message_delta); after them a message_stop event was torn mid-way (its data stops before the JSON ends) and was dropped. Missing: message_stop (message_delta with stop_reason end_turn had arrived); 5 chars of text had arrived, the JSON stopping ",
            failure?.Details);
    }

    [Fact]
    public void A_stream_stopped_at_an_event_boundary_says_nothing_was_torn()
    {
        var failure = Validate(SseTranscriptParser.Parse(Start + BlockStart + Delta)).Failure;

        Assert.Equal("stream_cut", failure?.Pattern);
        Assert.Contains("after 3 complete events (the last a content_block_delta); it stopped at an event boundary, nothing torn. Missing: message_delta with a stop_reason, and message_stop", failure?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_name_cut_mid_way_is_a_torn_event()
    {
        var parsed = SseTranscriptParser.Parse(Start + BlockStart + "eve");

        Assert.True(parsed.DroppedTornEvent);
        Assert.Equal(2, parsed.EventCount);
    }

    [Fact]
    public void A_block_with_only_retry_dispatches_nothing()
    {
        var parsed = SseTranscriptParser.Parse("retry: 5000\n\n" + Start + BlockStart + Delta + MessageDelta + MessageStop + "\n\n");

        AssertWholeStream(parsed);
        Assert.Equal(5, parsed.EventCount);
    }

    [Fact]
    public void Lone_cr_line_endings_are_read()
    {
        var transcript = (Start + BlockStart + Delta + MessageDelta + MessageStop + "\n\n").Replace('\n', '\r');

        var parsed = SseTranscriptParser.Parse(transcript);

        Assert.Equal(5, parsed.EventCount);
        AssertWholeStream(parsed);
    }

    [Fact]
    public void An_unknown_event_name_is_ignored_even_when_its_data_looks_like_a_stop()
    {
        var impostor = "event: future_event\ndata: {\"type\":\"message_stop\"}\n\n";

        var parsed = SseTranscriptParser.Parse(Start + BlockStart + Delta + impostor);

        Assert.Equal(StreamOutcome.CutBeforeMessageStop, parsed.StreamOutcome);
        Assert.Equal(1, parsed.IgnoredEventCount);
    }

    [Fact]
    public void A_transcript_without_event_lines_falls_back_on_the_data_type()
    {
        var dataOnly = string.Join("\n", (Start + BlockStart + Delta + MessageDelta + MessageStop + "\n\n").Split('\n').Where(l => !l.StartsWith("event:", StringComparison.Ordinal)));

        var parsed = SseTranscriptParser.Parse(dataOnly);

        AssertWholeStream(parsed);
    }

    [Fact]
    public void A_leading_bom_is_skipped_and_still_looks_like_sse()
    {
        var transcript = "\uFEFF" + Start + BlockStart + Delta + MessageDelta + MessageStop + "\n\n";

        Assert.True(SseTranscriptParser.LooksLikeSse(transcript));
        AssertWholeStream(SseTranscriptParser.Parse(transcript));
    }

    [Fact]
    public void A_complete_event_whose_data_is_not_json_is_still_a_malformed_event()
    {
        var bad = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\n\n";

        var failure = Validate(SseTranscriptParser.Parse(Start + BlockStart + bad + MessageDelta + MessageStop + "\n\n")).Failure;

        Assert.Equal("malformed_stream_event", failure?.Pattern);
    }
}
