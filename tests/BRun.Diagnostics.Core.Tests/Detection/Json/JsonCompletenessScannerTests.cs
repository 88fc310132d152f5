using BRun.Diagnostics.Core.Detection.Json;

namespace BRun.Diagnostics.Core.Tests.Detection.Json;

public class JsonCompletenessScannerTests
{
    [Theory]
    [InlineData("{}")]
    [InlineData("  [1, 2.5e3, -3, true, false, null, \"x\"]  \n")]
    [InlineData("{\"a\": {\"b\": [[], [{}], [[1]]]}}")]
    [InlineData("\"just a string\"")]
    [InlineData("42")]
    [InlineData("{\"q\": \"she said \\\"hi\\\" and left C:\\\\temp\\\\\"}")]
    [InlineData("{\"u\": \"dash \\u2014 and emoji \\ud83d\\ude42 and raw 🙂 and 日本語\"}")]
    public void Scan_AcceptsCompleteDocuments(string text)
    {
        var result = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonScanStatus.Complete, result.Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \r\n\t ")]
    public void Scan_ReportsWhitespaceAsEmpty(string text)
    {
        Assert.Equal(JsonScanStatus.Empty, JsonCompletenessScanner.Scan(text).Status);
    }

    [Theory]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"Hello wor", JsonCutPoint.InString, "turns[0].content", 3)]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"feeling \\", JsonCutPoint.AfterBackslash, "turns[0].content", 3)]
    [InlineData("{\"turns\": [{\"role\": \"assistant\", \"content\": \"feeling \\\"", JsonCutPoint.InString, "turns[0].content", 3)]
    [InlineData("{\"a\": \"x \\u00", JsonCutPoint.InUnicodeEscape, "a", 1)]
    [InlineData("{\"conversati", JsonCutPoint.InKey, "", 1)]
    [InlineData("{\"turns\"", JsonCutPoint.AfterKey, "turns", 1)]
    [InlineData("{\"turns\": ", JsonCutPoint.AfterColon, "turns", 1)]
    [InlineData("{\"turns\": [", JsonCutPoint.AfterOpenArray, "turns", 2)]
    [InlineData("{\"turns\": [{", JsonCutPoint.AfterOpenObject, "turns[0]", 3)]
    [InlineData("{\"turns\": [{}, ", JsonCutPoint.AfterComma, "turns[1]", 2)]
    [InlineData("{\"a\": 1, ", JsonCutPoint.AfterComma, "", 1)]
    [InlineData("{\"a\": 1", JsonCutPoint.InNumber, "a", 1)]
    [InlineData("{\"a\": 1 ", JsonCutPoint.AfterValue, "a", 1)]
    [InlineData("{\"a\": tr", JsonCutPoint.InLiteral, "a", 1)]
    [InlineData("[[[1], [2, [3", JsonCutPoint.InNumber, "[0][1][1][0]", 4)]
    [InlineData("{\"a\": [[], [\"x\"]", JsonCutPoint.AfterValue, "a[1]", 2)]
    public void Scan_SaysWhereAnIncompleteDocumentStops(string text, JsonCutPoint point, string path, int depth)
    {
        var result = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonScanStatus.Incomplete, result.Status);
        Assert.Equal(point, result.CutPoint);
        Assert.Equal(path, result.Path);
        Assert.Equal(depth, result.Depth);
        Assert.Equal(text.Length, result.Offset);
    }

    [Fact]
    public void Scan_TreatsAnEscapedBackslashAtTheEndAsCompleteEscape()
    {
        var result = JsonCompletenessScanner.Scan("{\"p\": \"C:\\\\");

        Assert.Equal(JsonCutPoint.InString, result.CutPoint);
    }

    [Fact]
    public void Scan_CountsTheOpenStringLength()
    {
        var result = JsonCompletenessScanner.Scan("{\"c\": \"日本語🙂ab");

        Assert.Equal(7, result.OpenStringLength);
    }

    [Fact]
    public void Scan_ReportsTheDigitsOfACutUnicodeEscape()
    {
        var result = JsonCompletenessScanner.Scan("[\"\\u20");

        Assert.Equal(JsonCutPoint.InUnicodeEscape, result.CutPoint);
        Assert.Equal(2, result.UnicodeDigitsSeen);
    }

    [Theory]
    [InlineData("{\"a\": 1} trailing", 9)]
    [InlineData("{\"a\" 1}", 5)]
    [InlineData("{a: 1}", 1)]
    [InlineData("[1 2]", 3)]
    [InlineData("[1, }", 4)]
    [InlineData("{\"a\": 1]", 7)]
    [InlineData("{\"a\": \"\\x\"}", 8)]
    [InlineData("{\"a\": \"\\u12G4\"}", 11)]
    [InlineData("{\"a\": trux}", 9)]
    [InlineData("<html><body>502 Bad Gateway</body></html>", 0)]
    [InlineData("Sure! Here is the conversation: {}", 0)]
    public void Scan_ReportsInvalidDocumentsWithTheOffendingOffset(string text, int offset)
    {
        var result = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonScanStatus.Invalid, result.Status);
        Assert.Equal(offset, result.Offset);
        Assert.False(string.IsNullOrEmpty(result.Problem));
    }

    [Fact]
    public void Scan_RejectsNestingBeyondTheLimit()
    {
        var text = new string('[', JsonCompletenessScanner.MaxDepth + 1);

        var result = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonScanStatus.Invalid, result.Status);
        Assert.Contains("nesting", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_HandlesDeepButAllowedNesting()
    {
        var depth = JsonCompletenessScanner.MaxDepth;
        var text = new string('[', depth) + new string(']', depth);

        Assert.Equal(JsonScanStatus.Complete, JsonCompletenessScanner.Scan(text).Status);
    }

    [Fact]
    public void Scan_FindsTheCutInAMultiMegabyteString()
    {
        var text = "{\"turns\": [{\"role\": \"assistant\", \"content\": \"" + string.Concat(Enumerable.Repeat("word \\\"quoted\\\" \\\\ ", 300_000));

        var result = JsonCompletenessScanner.Scan(text);

        Assert.Equal(JsonCutPoint.InString, result.CutPoint);
        Assert.Equal("turns[0].content", result.Path);
        Assert.Equal(text.Length, result.Offset);
    }

    [Fact]
    public void Describe_SaysWhereAndHowDeep()
    {
        var description = JsonCompletenessScanner.Scan("{\"turns\": [{\"content\": \"ab\\").Describe();

        Assert.Contains("turns[0].content", description, StringComparison.Ordinal);
        Assert.Contains("right after a backslash", description, StringComparison.Ordinal);
        Assert.Contains("char offset 27", description, StringComparison.Ordinal);
        Assert.Contains("3 unclosed containers", description, StringComparison.Ordinal);
    }
}
