using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class LoneBackslashStrategyTests
{
    private readonly LoneBackslashStrategy _strategy = new();

    [Theory]
    [InlineData("This ends with a backslash \\")]
    [InlineData("three \\\\\\")]
    [InlineData("\\")]
    [InlineData("trailing space \\ \n")]
    public void Inspect_FlagsAnOddRunOfTrailingBackslashes(string text)
    {
        var finding = _strategy.Inspect(new TruncationInput(text));

        Assert.Equal("lone_backslash", finding?.Pattern);
        Assert.Equal(Confidence.High, finding?.Confidence);
    }

    [Theory]
    [InlineData("C:\\\\Users\\\\")]
    [InlineData("done.")]
    [InlineData("")]
    public void Inspect_IgnoresEscapedBackslashesAndOtherEndings(string text)
    {
        Assert.Null(_strategy.Inspect(new TruncationInput(text)));
    }
}
