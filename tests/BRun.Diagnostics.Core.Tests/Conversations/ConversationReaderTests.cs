using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Tests.Conversations;

public class ConversationReaderTests
{
    private static Conversation? Read(string json, out ConversationShapeProblem? problem)
    {
        using var document = JsonDocument.Parse(json);
        return ConversationReader.Read(document.RootElement, out problem);
    }

    [Fact]
    public void Read_TakesMetadataAndTurns()
    {
        var conversation = Read(ConversationJson.Build(("user", "Hi."), ("assistant", "Hello.")), out var problem);

        Assert.Null(problem);
        Assert.Equal(new ConversationMetadata("gig_worker", "overwhelm_to_agency", "debt", 2), conversation?.Metadata);
        Assert.Equal([new(ConversationRole.User, "Hi."), new(ConversationRole.Assistant, "Hello.")], conversation?.Turns);
        Assert.Equal(1, conversation?.AssistantTurnCount);
    }

    [Fact]
    public void Read_MetadataIsOptionalAndWrongTypesBecomeNull()
    {
        var conversation = Read("{\"conversation_metadata\": {\"persona\": 3, \"turn_count\": \"4\"}, \"turns\": [{\"role\": \"assistant\", \"content\": \"x.\"}], \"extra\": true}", out _);

        Assert.Equal(ConversationMetadata.None, conversation?.Metadata);
    }

    [Fact]
    public void Read_NamesTheBadTurn()
    {
        Read("{\"turns\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"bot\", \"content\": \"b\"}]}", out var problem);

        Assert.Equal(ConversationReader.InvalidTurn, problem?.Pattern);
        Assert.Contains("turns[1].role is \"bot\"", problem?.Details, StringComparison.Ordinal);
    }
}
