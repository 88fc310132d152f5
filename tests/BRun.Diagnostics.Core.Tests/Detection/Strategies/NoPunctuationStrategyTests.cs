using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class NoPunctuationStrategyTests
{
    private readonly NoPunctuationStrategy _strategy = new();
    private static readonly string LongPrefix = new string('a', 120) + " ";

    [Theory]
    [InlineData("about $20,000")]
    [InlineData("take a breath —")]
    [InlineData("at 24.99%")]
    public void Inspect_FlagsLongTextWithoutAClosingMark(string ending)
    {
        var finding = _strategy.Inspect(new TruncationInput(LongPrefix + ending));

        Assert.Equal("no_punctuation", finding?.Pattern);
        Assert.Equal(Confidence.Low, finding?.Confidence);
    }

    [Theory]
    [InlineData("done.")]
    [InlineData("You've got this 🙂")]
    [InlineData("Great work 👍🏽")]
    [InlineData("Ready? ❤️")]
    [InlineData("“progress, not perfection”")]
    [InlineData("**Step one**")]
    public void Inspect_AcceptsProperEndings(string ending)
    {
        Assert.Null(_strategy.Inspect(new TruncationInput(LongPrefix + ending)));
    }

    [Fact]
    public void Inspect_IgnoresShortText()
    {
        Assert.Null(_strategy.Inspect(new TruncationInput("about $20,000")));
    }

    [Fact]
    public void Inspect_IgnoresJsonInput()
    {
        var text = "{\"n\": [" + new string('1', 150);

        Assert.Null(_strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text))));
    }
}
