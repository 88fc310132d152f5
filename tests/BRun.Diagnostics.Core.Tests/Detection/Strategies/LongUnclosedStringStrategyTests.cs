using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Detection.Strategies;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class LongUnclosedStringStrategyTests
{
    private readonly LongUnclosedStringStrategy _strategy = new();

    [Fact]
    public void Inspect_FlagsJsonCutInsideALongString()
    {
        var text = "{\"content\": \"" + new string('x', 60) + ". ";
        var finding = _strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text)));

        Assert.Equal("long_unclosed_string", finding?.Pattern);
        Assert.Contains("62 characters", finding?.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_IgnoresAShortOpenString()
    {
        const string text = "{\"content\": \"short. ";

        Assert.Null(_strategy.Inspect(new TruncationInput(text, JsonCompletenessScanner.Scan(text))));
    }

    [Fact]
    public void Inspect_IgnoresProseWithAnOpenQuotation()
    {
        // The plan's regex flags this complete sentence because a quotation mark is followed by 50+ chars.
        const string text = "You mentioned feeling \"behind\" and that is one of the biggest sources of anxiety we see.";

        Assert.Null(_strategy.Inspect(new TruncationInput(text)));
    }
}
