using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class EscapedQuoteStrategyTests
{
    private readonly EscapedQuoteStrategy _strategy = new();

    private static TruncationInput Json(string text) => new(text, JsonCompletenessScanner.Scan(text));

    [Theory]
    [InlineData("[\"This ends with \\\"")]
    [InlineData("[\"You mentioned feeling \\\"  ")]
    [InlineData("[\"odd run \\\\\\\"")]
    public void Inspect_FlagsQuoteEscapedByAnOddBackslashRun(string text)
    {
        var finding = _strategy.Inspect(Json(text));

        Assert.NotNull(finding);
        Assert.Equal("escaped_quote", finding.Pattern);
        Assert.Equal(Confidence.High, finding.Confidence);
    }

    [Theory]
    [InlineData("[\"A closed \\\"quote\\\"\"")]
    [InlineData("[\"path C:\\\\\"")]
    [InlineData("[\"no quote at all.")]
    public void Inspect_IgnoresQuotesThatAreNotEscaped(string text)
    {
        Assert.Null(_strategy.Inspect(Json(text)));
    }

    [Fact]
    public void Inspect_DetailsShowTheEscapedEnding()
    {
        var finding = _strategy.Inspect(Json("[\"You mentioned feeling \\\""));

        Assert.EndsWith("feeling \\\\\\\"\".", finding!.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_LeavesDecodedProseAlone_WhereTheBackslashIsALiteralBeforeAClosingQuote()
    {
        Assert.Null(_strategy.Inspect(new TruncationInput("He typed \\\"")));
    }
}
