using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class LoneBackslashStrategyTests
{
    private readonly LoneBackslashStrategy _strategy = new();

    private static TruncationInput Json(string text) => new(text, JsonCompletenessScanner.Scan(text));

    [Theory]
    [InlineData("{\"c\": \"This ends with a backslash \\")]
    [InlineData("[\"three \\\\\\")]
    [InlineData("[\"\\")]
    public void Inspect_FlagsJsonTextCutAfterAnOddRunOfBackslashes(string text)
    {
        var finding = _strategy.Inspect(Json(text));

        Assert.Equal("lone_backslash", finding?.Pattern);
        Assert.Equal(Confidence.High, finding?.Confidence);
    }

    [Theory]
    [InlineData("[\"C:\\\\Users\\\\")]
    [InlineData("[\"done.")]
    public void Inspect_IgnoresEscapedBackslashesAndOtherEndings(string text)
    {
        Assert.Null(_strategy.Inspect(Json(text)));
    }

    [Theory]
    [InlineData("This ends with a backslash \\")]
    [InlineData("Save it under C:\\Reports\\")]
    public void Inspect_LeavesDecodedProseAlone_BecauseItsBackslashesAreLiteral(string text)
    {
        Assert.Null(_strategy.Inspect(new TruncationInput(text)));
    }
}
