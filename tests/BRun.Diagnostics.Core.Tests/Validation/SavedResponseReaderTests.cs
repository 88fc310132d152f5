using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Validation;

public class SavedResponseReaderTests
{
    [Theory]
    [InlineData("a.sse", "{}", true)]
    [InlineData("a.SSE", "", true)]
    [InlineData("a.json", "event: message_start\ndata: {}\n\n", true)]
    [InlineData("a.txt", "\n  data: {}\n\n", true)]
    [InlineData("a.json", "{\"type\": \"message\"}", false)]
    [InlineData("a.json", "<html></html>", false)]
    public void IsSseTranscript_UsesTheExtensionOrTheFirstLine(string name, string content, bool expected)
    {
        Assert.Equal(expected, SavedResponseReader.IsSseTranscript(name, content));
    }

    [Fact]
    public void Read_ParsesATranscriptAsAStream()
    {
        var saved = SavedResponseReader.Read("stream-complete-00.sse", FixtureFiles.Read("stream-complete-00.sse"));

        Assert.True(saved.Streamed);
        Assert.Equal(StreamOutcome.Completed, saved.Parsed.StreamOutcome);
    }

    [Fact]
    public void Read_ParsesABodyAsAMessage()
    {
        var saved = SavedResponseReader.Read("complete-000.json", FixtureFiles.Read("complete-000.json"));

        Assert.False(saved.Streamed);
        Assert.Equal(BodyKind.Message, saved.Parsed.Kind);
    }
}
