using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Validation;

/// <summary>Every sample in Fixtures/ against the verdict its README gives.</summary>
public class FixtureVerdictTests
{
    private readonly ResponseValidator _validator = new();

    public static TheoryData<string, string?, string?> Verdicts => new()
    {
        { "complete-000.json", null, null },
        { "complete-001.json", null, null },
        { "stream-complete-00.sse", null, null },
        { "maxtok-000.json", FailureTypeNames.Truncation, "max_tokens" },
        { "endturn-cut-lone_backslash-000.json", FailureTypeNames.Truncation, "lone_backslash" },
        { "endturn-cut-escaped_quote-001.json", FailureTypeNames.Truncation, "escaped_quote" },
        { "endturn-cut-mid_word-002.json", FailureTypeNames.Truncation, "mid_word" },
        { "turncut-000.json", FailureTypeNames.Truncation, null },
        { "stop-refusal-00.json", FailureTypeNames.ValidationError, "refusal" },
        { "stop-model_context_window_exceeded-03.json", FailureTypeNames.Truncation, "model_context_window_exceeded" },
        { "error-429-00.json", FailureTypeNames.ApiError, "rate_limit_error" },
        { "error-529-01.json", FailureTypeNames.ApiError, "overloaded_error" },
        { "junk-html.json", FailureTypeNames.ParseError, "not_json" },
        { "stream-cut-00.sse", FailureTypeNames.Truncation, "stream_cut" },
        { "stream-error-00.sse", FailureTypeNames.ApiError, "stream_error_event" },
        { "stream-maxtok-00.sse", FailureTypeNames.Truncation, "max_tokens" },
    };

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void Validate_GivesTheReadmeVerdict(string file, string? failureType, string? pattern)
    {
        var saved = SavedResponseReader.Read(file, FixtureFiles.Read(file));

        var result = _validator.Validate(saved.Parsed, ResponseContext.SavedFile(saved.Streamed));

        Assert.Equal(failureType is null, result.IsOk);
        Assert.Equal(failureType, result.Failure?.Type.ToWire());
        if (pattern is not null)
        {
            Assert.Equal(pattern, result.Failure?.Pattern);
        }
    }

    [Fact]
    public void Validate_CoversEveryFixtureFile()
    {
        var files = Directory.GetFiles(FixtureFiles.Directory).Select(Path.GetFileName).Where(f => f != "README.md");
        var covered = Verdicts.Select(row => (string)row[0]);

        Assert.Equal(files.Order(StringComparer.Ordinal), covered.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_NamesTheCutTurnOfTurncut()
    {
        var saved = SavedResponseReader.Read("turncut-000.json", FixtureFiles.Read("turncut-000.json"));

        var result = _validator.Validate(saved.Parsed, ResponseContext.SavedFile(saved.Streamed));

        Assert.NotNull(result.Failure?.TurnIndex);
        Assert.Contains($"turns[{result.Failure.TurnIndex}]", result.Failure.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ReturnsTheConversationOfACompleteFixture()
    {
        var saved = SavedResponseReader.Read("complete-000.json", FixtureFiles.Read("complete-000.json"));

        var result = _validator.Validate(saved.Parsed, ResponseContext.SavedFile(saved.Streamed));

        Assert.True(result.IsOk);
        Assert.Equal("anxious_pre_retiree", result.Conversation.Metadata.Persona);
        Assert.Equal("overwhelm_to_agency", result.Conversation.Metadata.EmotionalArc);
        Assert.Equal("retirement", result.Conversation.Metadata.TrainingTopic);
        Assert.Equal(4, result.Conversation.Metadata.TurnCount);
        Assert.Equal(4, result.Conversation.Turns.Count);
        Assert.Contains("C:\\Users\\you", result.Conversation.Turns[3].Content, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SaysWhereTheLoneBackslashFixtureWasCut()
    {
        var saved = SavedResponseReader.Read("x.json", FixtureFiles.Read("endturn-cut-lone_backslash-000.json"));

        var failure = _validator.Validate(saved.Parsed, ResponseContext.SavedFile(false)).Failure;

        Assert.Contains("turns[1].content", failure?.Details, StringComparison.Ordinal);
        Assert.Contains("right after a backslash", failure?.Details, StringComparison.Ordinal);
        Assert.Equal(saved.Parsed.Text.Length, failure?.ContentOffset);
    }
}
