using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Tests.Conversations;

public class ConversationReaderTests
{
    private static Conversation? Read(string json, out ConversationShapeProblem? problem)
    {
        var result = ConversationReader.Read(json);
        problem = result.Problem;
        return result.Conversation;
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

    [Fact]
    public void Read_ResolvesEveryEscapeInContent()
    {
        var conversation = Read("{\"turns\": [{\"role\": \"assistant\", \"content\": \"C:\\\\Temp\\\\ \\\"q\\\" \\u00e9\\ud83d\\ude42\\n\\t\\/ end.\"}]}", out _);

        Assert.Equal("C:\\Temp\\ \"q\" é🙂\n\t/ end.", conversation?.Turns[0].Content);
    }

    // Contents are decoded a 16-character block at a time into a buffer that grows: escapes at every offset within a
    // block, strings near the end of the text (where no whole block fits) and contents far longer than the first
    // buffer must all decode as System.Text.Json decodes them.
    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(700)]
    [InlineData(20_000)]
    public void Read_DecodesLongEscapeDenseContentAsSystemTextJsonDoes(int pieces)
    {
        string[] parts = ["a", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude42", "\\n", "bcdefghijklmnopq", "\\/", "— ", "xy"];
        var builder = new System.Text.StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            builder.Append(parts[(i * 7 + (i / parts.Length)) % parts.Length]);
        }

        var raw = builder.Append('.').ToString();
        var json = $"{{\"turns\": [{{\"role\": \"user\", \"content\": \"{raw}\"}}, {{\"content\": \"{raw}\", \"role\": \"assistant\"}}]}}";
        using var document = JsonDocument.Parse(json);
        var expected = document.RootElement.GetProperty("turns")[0].GetProperty("content").GetString();

        var conversation = Read(json, out var problem);

        Assert.Null(problem);
        Assert.Equal(expected, conversation?.Turns[0].Content);
        Assert.Equal(expected, conversation?.Turns[1].Content);
    }

    [Fact]
    public void Read_MatchesEscapedKeysAndLetTheLastDuplicateWin()
    {
        var conversation = Read(
            "{\"turns\": 5, \"tu\\u0072ns\": [{\"role\": \"user\", \"content\": \"a\", \"content\": \"b.\"}, {\"role\": \"assistant\", \"content\": \"c.\"}]}",
            out var problem);

        Assert.Null(problem);
        Assert.Equal("b.", conversation?.Turns[0].Content);
    }

    [Fact]
    public void Read_ReportsBrokenJsonBeforeAShapeProblem()
    {
        // Not a conversation (no "turns"), and broken further on: the broken JSON is what is reported.
        var result = ConversationReader.Read("{\"x\": 1, \"y\": 01}");

        Assert.Equal(ConversationParseStatus.InvalidJson, result.Status);
        Assert.Equal(15, result.SyntaxOffset);
    }

    // The reader must accept exactly what System.Text.Json accepts (with default options): each case is checked
    // against JsonDocument, so a difference in either direction fails.
    [Theory]
    [InlineData("{\"turns\": [], \"n\": 0}")]
    [InlineData("{\"n\": -0.5e+10}")]
    [InlineData("{\"n\": 1E3}")]
    [InlineData("{\"n\": 01}")]
    [InlineData("{\"n\": 1.}")]
    [InlineData("{\"n\": .5}")]
    [InlineData("{\"n\": -}")]
    [InlineData("{\"n\": 1e}")]
    [InlineData("{\"n\": +1}")]
    [InlineData("{\"b\": tru}")]
    [InlineData("{\"b\": [true, false, null]}")]
    [InlineData("{\"s\": \"tab\there\"}")]
    [InlineData("{\"s\": \"\\ud800\"}")]
    [InlineData("{\"s\": \"\\udc00x\"}")]
    [InlineData("{\"s\": \"\\ud83d\\ude42\"}")]
    [InlineData("{\"s\": \"\\x\"}")]
    [InlineData("{\"s\": \"\\u12G4\"}")]
    [InlineData("{\"a\": 1,}")]
    [InlineData("{\"a\": 1} x")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{a: 1}")]
    [InlineData("[1, 2]")]
    [InlineData("\"just a string\"")]
    [InlineData("  {\"a\": {\"b\": [[], {}, [{}]]}}  ")]
    public void Read_AgreesWithSystemTextJsonOnWhatIsValid(string json)
    {
        bool expected;
        try
        {
            using var document = JsonDocument.Parse(json);

            // JsonDocument accepts a lone surrogate escape but cannot turn it into a string; neither can we store it.
            expected = !json.Contains("\\ud800", StringComparison.Ordinal) && !json.Contains("\\udc00", StringComparison.Ordinal);
        }
        catch (JsonException)
        {
            expected = false;
        }

        Assert.Equal(expected, ConversationReader.Read(json).Status != ConversationParseStatus.InvalidJson);
    }

    [Fact]
    public void Read_RefusesNestingDeeperThanTheLimit()
    {
        var deep = "{\"a\": " + new string('[', ConversationReader.MaxDepth + 1) + new string(']', ConversationReader.MaxDepth + 1) + "}";

        Assert.Equal(ConversationParseStatus.InvalidJson, ConversationReader.Read(deep).Status);
    }
}
