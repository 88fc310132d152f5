using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection;

public class TruncationDetectorTests
{
    private readonly TruncationDetector _detector = TruncationDetector.CreateDefault();

    // The execution plan's manual test table (Manual Test 3), with its JavaScript escapes resolved. Its two
    // escape rows are about JSON text (the raw content), so they run on a JSON string cut at that point.
    [Theory]
    [InlineData("{\"c\": \"This ends with a backslash \\", "lone_backslash")]
    [InlineData("{\"c\": \"This ends with \\\"", "escaped_quote")]
    public void Detect_MatchesThePlansTable_ForJsonText(string json, string pattern)
    {
        Assert.Equal(pattern, _detector.Detect(new TruncationInput(json, JsonCompletenessScanner.Scan(json)))?.Pattern);
    }

    [Theory]
    [InlineData("This ends with a backslash \\", "trailing_backslash")]
    [InlineData("This is a complete sentence.", null)]
    [InlineData("This ends mid-w", "mid_word")]
    [InlineData("List item,", "trailing_comma")]
    [InlineData("Property:", "trailing_colon")]
    public void Detect_MatchesThePlansTable(string text, string? pattern)
    {
        Assert.Equal(pattern, _detector.Detect(text)?.Pattern);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("Sure")]
    [InlineData("OK 👍")]
    public void Detect_LeavesBlankAndShortCompleteTextAlone(string text)
    {
        Assert.Null(_detector.Detect(text));
    }

    [Fact]
    public void Detect_PrefersTheSpecificEscapeOverMidWord()
    {
        // "\u20" ends in a digit here, "\u20a" would end in a letter: the escape strategy must win either way.
        const string text = "{\"content\": \"a dash \\u20a";

        var finding = _detector.Detect(new TruncationInput(text, JsonCompletenessScanner.Scan(text)));

        Assert.Equal("partial_unicode_escape", finding?.Pattern);
    }

    [Fact]
    public void Detect_RunsStrategiesInTheGivenOrder()
    {
        var detector = new TruncationDetector([new Detection.Strategies.NoPunctuationStrategyStub("first"), new Detection.Strategies.NoPunctuationStrategyStub("second")]);

        Assert.Equal("first", detector.Detect("anything")?.Pattern);
    }

    [Fact]
    public void DetectInTurns_ChecksAssistantTurnsOnlyAndNamesTheTurn()
    {
        ConversationTurn[] turns =
        [
            new(ConversationRole.User, "I lent my brother money and he never menti"),
            new(ConversationRole.Assistant, "That sounds hard."),
            new(ConversationRole.User, "Yes."),
            new(ConversationRole.Assistant, "Let's look at it togeth"),
        ];

        var cut = _detector.DetectInTurns(turns);

        Assert.Equal(3, cut?.TurnIndex);
        Assert.Equal("mid_word", cut?.Finding.Pattern);
        Assert.Equal(1, cut?.FlaggedTurnCount);
    }

    [Fact]
    public void DetectInTurns_PrefersTheMostConfidentFinding()
    {
        ConversationTurn[] turns =
        [
            new(ConversationRole.Assistant, "Let's look at it togeth"),
            new(ConversationRole.Assistant, "Save the sheet under C:\\Budget\\"),
        ];

        var cut = _detector.DetectInTurns(turns);

        Assert.Equal(0, cut?.TurnIndex);
        Assert.Equal(Confidence.Medium, cut?.Finding.Confidence);
        Assert.Equal(2, cut?.FlaggedTurnCount);
    }

    [Theory]
    [InlineData("Save the sheet under C:\\Budget\\")]
    [InlineData("He wrote \\\"")]
    public void DetectInTurns_NeverCallsALiteralBackslashInDecodedTextACutEscape(string content)
    {
        var cut = _detector.DetectInTurns([new(ConversationRole.Assistant, content)]);

        Assert.NotEqual("lone_backslash", cut?.Finding.Pattern);
        Assert.NotEqual("escaped_quote", cut?.Finding.Pattern);
        Assert.NotEqual(Confidence.High, cut?.Finding.Confidence);
    }

    [Fact]
    public void DetectInTurns_ReturnsNullWhenEveryAssistantTurnEndsWell()
    {
        ConversationTurn[] turns = [new(ConversationRole.User, "Hi"), new(ConversationRole.Assistant, "Hello! How can I help?")];

        Assert.Null(_detector.DetectInTurns(turns));
    }
}
