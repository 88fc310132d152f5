using System.Net.ServerSentEvents;
using System.Text;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Messages;

/// <summary>
/// One complete conversation stream (Fixtures/stream-complete-00.sse), re-framed every way the event-stream rules
/// allow: the complete stream is accepted in every framing, and the same stream cut anywhere before its end never is.
/// </summary>
public class EventStreamFramingTests
{
    private static readonly ResponseValidator Validator = new();
    private static readonly IReadOnlyList<SseEvent> Canonical = EventStreamFramer.Frame(FixtureFiles.Read("stream-complete-00.sse")).Events;

    public static TheoryData<string> Framings => [.. SseFraming.Named.Keys];

    private static ValidationResult Validate(string transcript) =>
        Validator.Validate(SseTranscriptParser.Parse(transcript), ResponseContext.SavedFile(streamed: true));

    [Fact]
    public void The_canonical_stream_is_the_complete_conversation()
    {
        Assert.Equal(Canonical.Count, Canonical.Count(e => e.Name != "future_event"));
        Assert.Equal("message_stop", Canonical[^1].Name);
        Assert.Contains(Canonical, e => e.Name == "message_delta");
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public void A_complete_stream_is_accepted_in_every_framing(string framing)
    {
        var transcript = SseFraming.Named[framing].Write(Canonical);

        var parsed = SseTranscriptParser.Parse(transcript);
        var result = Validator.Validate(parsed, ResponseContext.SavedFile(streamed: true));

        Assert.True(result.IsOk, $"{framing}: {result.Failure?.Pattern} {result.Failure?.Details}");
        Assert.Equal(StreamOutcome.Completed, parsed.StreamOutcome);
        Assert.False(parsed.DroppedTornEvent);
        Assert.Null(parsed.ParseProblem);
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public void The_same_stream_cut_before_its_end_is_rejected_in_every_framing(string framing)
    {
        var transcript = SseFraming.Named[framing].Write(Canonical);
        var deltaAt = transcript.IndexOf("message_delta", StringComparison.Ordinal);
        int[] cuts = [0, deltaAt / 10, deltaAt / 3, deltaAt / 2, deltaAt - 200, deltaAt - 7, deltaAt - 1];

        foreach (var cut in cuts)
        {
            var result = Validate(transcript[..cut]);

            Assert.False(result.IsOk, $"{framing} cut at {cut} was accepted");
        }
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public void A_stream_cut_after_message_delta_but_before_message_stop_is_rejected(string framing)
    {
        var transcript = SseFraming.Named[framing].Write([.. Canonical.Take(Canonical.Count - 1)]);

        var result = Validate(transcript);

        Assert.Equal("stream_cut", result.Failure?.Pattern);
        Assert.Contains("Missing: message_stop (message_delta with stop_reason end_turn had arrived)", result.Failure?.Details, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public void Our_framing_matches_System_Net_ServerSentEvents(string framing)
    {
        var transcript = SseFraming.Named[framing].Write(Canonical, new Random(7));
        if (!transcript.EndsWith(SseFraming.Named[framing].LineEnding + SseFraming.Named[framing].LineEnding, StringComparison.Ordinal))
        {
            // The standard discards a block the stream ended inside; ours keeps it aside to judge it (tested below).
            transcript += SseFraming.Named[framing].LineEnding + SseFraming.Named[framing].LineEnding;
        }

        var ours = EventStreamFramer.Frame(transcript).Events.Select(e => (e.Name, e.Data));
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(transcript));
        var theirs = SseParser.Create(stream).Enumerate().Select(item => (item.EventType, item.Data));

        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void Reframed_at_random_a_complete_stream_always_validates()
    {
        var random = new Random(20261202);
        for (var i = 0; i < 300; i++)
        {
            var framing = SseFraming.Random(random);
            var transcript = framing.Write(Canonical, random);

            var result = Validate(transcript);

            Assert.True(result.IsOk, $"iteration {i}, {framing}: {result.Failure?.Details}");
        }
    }

    [Fact]
    public void Truncated_at_any_byte_before_message_delta_a_stream_never_validates()
    {
        // Round 0 tries every byte; later rounds (other framings) a random sample, to keep the suite quick.
        var random = new Random(42);
        for (var round = 0; round < 5; round++)
        {
            var framing = round == 0 ? SseFraming.Named["lf"] : SseFraming.Random(random);
            var bytes = Encoding.UTF8.GetBytes(framing.Write(Canonical, random));
            var deltaAt = IndexOf(bytes, "event:"u8.ToArray(), bytes.Length - 1, "message_delta"u8.ToArray());
            var cuts = round == 0 ? Enumerable.Range(0, deltaAt) : Enumerable.Range(0, 200).Select(_ => random.Next(deltaAt));

            foreach (var cut in cuts)
            {
                var result = Validate(Encoding.UTF8.GetString(bytes, 0, cut));

                Assert.False(result.IsOk, $"round {round} ({framing}) cut at byte {cut} was accepted");
            }
        }
    }

    /// <summary>The offset of the <paramref name="field"/> line that carries <paramref name="name"/>.</summary>
    private static int IndexOf(byte[] bytes, byte[] field, int from, byte[] name)
    {
        var at = bytes.AsSpan(0, from).LastIndexOf(name);
        Assert.True(at > 0);
        return bytes.AsSpan(0, at).LastIndexOf(field);
    }
}
