using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;

namespace BRun.Diagnostics.Core.Tests.Pipeline;

public class CallClassifierTests
{
    [Theory]
    [InlineData(429, CallDisposition.Transient)]
    [InlineData(529, CallDisposition.Transient)]
    [InlineData(500, CallDisposition.Transient)]
    [InlineData(503, CallDisposition.Transient)]
    [InlineData(408, CallDisposition.Transient)]
    [InlineData(409, CallDisposition.Transient)]
    [InlineData(400, CallDisposition.Permanent)]
    [InlineData(401, CallDisposition.Permanent)]
    [InlineData(402, CallDisposition.Permanent)]
    [InlineData(403, CallDisposition.Permanent)]
    [InlineData(404, CallDisposition.Permanent)]
    [InlineData(413, CallDisposition.Permanent)]
    public void ErrorStatuses_AreSortedAsTheApiDocumentsThem(int status, CallDisposition expected)
    {
        var headers = status == 429 ? new Dictionary<string, string> { ["retry-after"] = "5" } : [];

        Assert.Equal(expected, CallClassifier.Classify(Captured(status, """{"type":"error","error":{"type":"x","message":"y"}}""", headers)).Disposition);
    }

    [Theory]
    [InlineData(TransportFailure.Timeout)]
    [InlineData(TransportFailure.ConnectionFailed)]
    public void NoResponse_IsTransient(TransportFailure transport)
    {
        var captured = Captured(0, string.Empty) with { Transport = transport, TransportError = "boom" };

        Assert.Equal(CallDisposition.Transient, CallClassifier.Classify(captured).Disposition);
    }

    [Fact]
    public void A429WithoutRetryAfter_IsTransientOnce_ThenASpendLimit()
    {
        var captured = Captured(429, """{"type":"error","error":{"type":"rate_limit_error","message":"spend"}}""");

        Assert.Equal(CallDisposition.Transient, CallClassifier.Classify(captured).Disposition);
        Assert.Equal(CallDisposition.Permanent, CallClassifier.Classify(captured, previousWasBareRateLimit: true).Disposition);
    }

    [Fact]
    public void XShouldRetry_OverridesTheStatus()
    {
        var headers = new Dictionary<string, string> { ["x-should-retry"] = "false" };

        Assert.Equal(CallDisposition.Permanent, CallClassifier.Classify(Captured(529, "{}", headers)).Disposition);
    }

    [Fact]
    public void AStreamThatErrorsBeforeAnyContent_IsTransient()
    {
        const string Stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

        var verdict = CallClassifier.Classify(Captured(200, Stream, streamed: true));

        Assert.Equal(CallDisposition.Transient, verdict.Disposition);
        Assert.Contains("overloaded_error", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AStreamCutAfterSomeContent_IsAResponseToJudge_NotARetry()
    {
        const string Stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"{\\\"turns\\\": [\"}}\n\n";

        Assert.Equal(CallDisposition.Response, CallClassifier.Classify(Captured(200, Stream, streamed: true)).Disposition);
    }

    private static CapturedResponse Captured(int status, string body, Dictionary<string, string>? headers = null, bool streamed = false) => new()
    {
        HttpStatus = status,
        RawBody = body,
        Streamed = streamed,
        Parsed = CapturedBody.Parse(status, body, streamed, null),
        RateLimitHeaders = headers ?? [],
        Request = new RequestSnapshot("claude-sonnet-4-5", 1024, null, true, streamed, "prompt"),
    };
}
