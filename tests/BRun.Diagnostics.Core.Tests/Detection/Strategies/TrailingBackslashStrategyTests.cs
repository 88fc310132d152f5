using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class TrailingBackslashStrategyTests
{
    private readonly TrailingBackslashStrategy _strategy = new();

    [Fact]
    public void Inspect_ReportsALiteralBackslashWithLowConfidence()
    {
        var finding = _strategy.Inspect(new TruncationInput("Save it under C:\\Reports\\"));

        Assert.Equal("trailing_backslash", finding?.Pattern);
        Assert.Equal(Confidence.Low, finding?.Confidence);
    }

    [Fact]
    public void Inspect_WordsSayWhatWasSeen_ALiteralCharacterNotACutEscape()
    {
        var finding = _strategy.Inspect(new TruncationInput("Save it under C:\\Reports\\"));

        Assert.Contains("literal backslash character", finding!.Details, StringComparison.Ordinal);
        Assert.Contains("not a cut escape sequence", finding.Details, StringComparison.Ordinal);
        Assert.DoesNotContain("escape sequence was cut", finding.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_CountsARunOfLiteralBackslashes()
    {
        var finding = _strategy.Inspect(new TruncationInput("a UNC root \\\\"));

        Assert.Contains("2 literal backslash characters", finding!.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Save it under C:\\Reports\\.")]
    [InlineData("Done.")]
    [InlineData("")]
    public void Inspect_IgnoresOtherEndings(string text)
    {
        Assert.Null(_strategy.Inspect(new TruncationInput(text)));
    }

    [Fact]
    public void Inspect_LeavesJsonTextToTheEscapeStrategies()
    {
        const string text = "[\"cut \\";

        Assert.Null(_strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text))));
    }
}
