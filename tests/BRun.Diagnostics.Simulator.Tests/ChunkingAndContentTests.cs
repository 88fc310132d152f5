namespace BRun.Diagnostics.Simulator.Tests;

public class ChunkingAndContentTests
{
    [Fact]
    public void Chunk_ReassemblesToTheOriginalText()
    {
        var text = string.Concat(Enumerable.Repeat("She said \\\"hi\\\" — then C:\\\\Users\\\\me 😊 left.\\n", 40));

        var chunks = MessagesEndpoint.Chunk(text, new Random(1));

        Assert.Equal(text, string.Concat(chunks));
    }

    [Fact]
    public void Chunk_SplitsSomeEscapesAcrossDeltas()
    {
        var text = string.Concat(Enumerable.Repeat("She said \\\"hi\\\" and left.", 40));

        var chunks = MessagesEndpoint.Chunk(text, new Random(1));

        Assert.Contains(chunks.SkipLast(1), chunk => chunk.EndsWith('\\'));
    }

    [Fact]
    public void Chunk_NeverSplitsASurrogatePair()
    {
        var text = string.Concat(Enumerable.Repeat("ab😊", 500));

        var chunks = MessagesEndpoint.Chunk(text, new Random(3));

        Assert.DoesNotContain(chunks, chunk => char.IsHighSurrogate(chunk[^1]));
    }

    [Fact]
    public void Conversations_ContainTheEscapesThatBreakNaiveChecks()
    {
        var options = new SimulatorOptions();
        var texts = Enumerable.Range(0, 30)
            .Select(i => ReplyPlanner.Plan(new SimulatedRequest("m", 4096, false, $"escapes {i}", null), SimulatorScenario.Complete, 1, options).Text)
            .ToList();

        Assert.Contains(texts, t => t.Contains("\\\"", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.Contains("\\n", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.Contains("\\\\", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.Any(c => c > 127));
        Assert.All(texts, t => ConversationShape.AssertValid(t));
    }
}
