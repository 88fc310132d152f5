using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class MidWordStrategyTests
{
    private readonly MidWordStrategy _strategy = new();

    [Theory]
    [InlineData("This ends mid-w")]
    [InlineData("It's completely underst")]
    [InlineData("treat anything above that as a ")]
    [InlineData("Vous pouvez économis")]
    [InlineData("Это нормально чувств")]
    public void Inspect_FlagsProseEndingOnALetter(string text)
    {
        var finding = _strategy.Inspect(new TruncationInput(text));

        Assert.Equal("mid_word", finding?.Pattern);
        Assert.Equal(Confidence.Medium, finding?.Confidence);
    }

    [Theory]
    [InlineData("Thanks")]
    [InlineData("This is a complete sentence.")]
    [InlineData("a 4% rate on $500,000")]
    [InlineData("You've got this 🙂")]
    [InlineData("As the saying goes, \"progress, not perfection.\"")]
    [InlineData("See the rule ’")]
    public void Inspect_IgnoresSingleWordsAndNonLetterEndings(string text)
    {
        Assert.Null(_strategy.Inspect(new TruncationInput(text)));
    }

    [Fact]
    public void Inspect_NamesTheCutWord()
    {
        var finding = _strategy.Inspect(new TruncationInput("It's completely underst"));

        Assert.Contains("\"underst\"", finding!.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_FlagsASingleWordInsideACutJsonString()
    {
        const string text = "{\"conversati";
        var finding = _strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text)));

        Assert.Equal("mid_word", finding?.Pattern);
    }

    [Fact]
    public void Inspect_IgnoresJsonCutBetweenTokens()
    {
        const string text = "{\"a\": 1, \"b\": true";
        var scan = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonCutPoint.AfterValue, scan.CutPoint);
        Assert.Null(_strategy.Inspect(new TruncationInput(text, scan)));
    }
}
