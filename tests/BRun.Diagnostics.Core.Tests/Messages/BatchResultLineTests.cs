using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Tests.Messages;

public class BatchResultLineTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(12345)]
    public void CustomId_RoundTrips_TaskAndAttempt(int attempt)
    {
        var task = Guid.NewGuid();

        var customId = BatchResultLine.CustomIdFor(task, attempt);

        Assert.True(BatchResultLine.TryReadCustomId(customId, out var readTask, out var readAttempt));
        Assert.Equal((task, attempt), (readTask, readAttempt));
        Assert.Matches("^[a-zA-Z0-9_-]{1,64}$", customId);
    }

    [Theory]
    [InlineData("my-custom-id-1")]
    [InlineData("t0123456789abcdef0123456789abcdef-")]
    [InlineData("t0123456789abcdef0123456789abcdeg-1")]
    [InlineData("")]
    public void CustomId_NotOurs_IsNotRead(string customId) =>
        Assert.False(BatchResultLine.TryReadCustomId(customId, out _, out _));

    [Fact]
    public void SucceededLine_ParsesItsMessage_AndKeepsTheWholeLine()
    {
        const string line = """{"custom_id":"a","result":{"type":"succeeded","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"cut \\"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1024}}}}""";

        var parsed = BatchResultLine.Parse(line);

        Assert.Equal(BatchResultType.Succeeded, parsed.ResultType);
        Assert.Equal("max_tokens", parsed.Parsed!.StopReason);
        Assert.Equal(line, parsed.RawLine);
        Assert.Equal(200, parsed.EquivalentHttpStatus);
    }

    [Theory]
    [InlineData("overloaded_error", true, 529)]
    [InlineData("api_error", true, 500)]
    [InlineData("invalid_request_error", false, 400)]
    public void ErroredLine_SaysWhetherItIsWorthResubmitting(string errorType, bool transient, int status)
    {
        var line = """{"custom_id":"a","result":{"type":"errored","error":{"type":"error","error":{"type":"TYPE","message":"m"},"request_id":"req_1"}}}""".Replace("TYPE", errorType, StringComparison.Ordinal);

        var parsed = BatchResultLine.Parse(line);

        Assert.Equal(errorType, parsed.ErrorType);
        Assert.Equal(transient, parsed.IsTransientError);
        Assert.Equal(status, parsed.EquivalentHttpStatus);
        Assert.Equal(BodyKind.ApiError, parsed.Parsed!.Kind);
    }

    [Theory]
    [InlineData("""{"custom_id":"a","result":{"type":"expired"}}""", "expired")]
    [InlineData("""{"custom_id":"a","result":{"type":"canceled"}}""", "canceled")]
    public void CanceledAndExpiredLines_HaveNoBody(string line, string type)
    {
        var parsed = BatchResultLine.Parse(line);

        Assert.Equal(type, parsed.ResultType);
        Assert.Null(parsed.Parsed);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"custom_id":"a"}""")]
    [InlineData("[1,2]")]
    public void NotAResultsLine_IsAFormatException(string line) =>
        Assert.Throws<FormatException>(() => BatchResultLine.Parse(line));
}
