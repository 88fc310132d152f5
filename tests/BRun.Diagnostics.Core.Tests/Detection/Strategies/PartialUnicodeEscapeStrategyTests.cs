using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class PartialUnicodeEscapeStrategyTests
{
    private readonly PartialUnicodeEscapeStrategy _strategy = new();

    [Theory]
    [InlineData("{\"a\": \"dash \\u", 0)]
    [InlineData("{\"a\": \"dash \\u20", 2)]
    [InlineData("{\"a\": \"dash \\u201", 3)]
    public void Inspect_FlagsJsonCutInsideAUnicodeEscape(string text, int digits)
    {
        var finding = _strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text)));

        Assert.Equal("partial_unicode_escape", finding?.Pattern);
        Assert.Contains($"{digits} of its 4 hex digits", finding?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_IgnoresProse()
    {
        Assert.Null(_strategy.Inspect(new TruncationInput("dash \\u20")));
    }
}
