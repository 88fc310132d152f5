using System.Net;
using System.Net.Sockets;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

public class ClaudeMessagesClientRetryTests
{
    private static readonly ClaudeRequest Request = new("Write a conversation.");

    [Fact]
    public async Task RateLimited_WithRetryAfter_WaitsThatLong_ThenSucceeds()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "3"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(2, captured.Attempts);
        Assert.Equal([TimeSpan.FromSeconds(3)], harness.Delays);
    }

    [Fact]
    public async Task RetryAfterMs_WinsOverRetryAfter()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "3").WithHeader("retry-after-ms", "1500"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal([TimeSpan.FromMilliseconds(1500)], harness.Delays);
    }

    [Fact]
    public async Task RetryAfter_LongerThanTheMaximum_FallsBackToBackoff()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json").WithHeader("retry-after", "120"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.InRange(Assert.Single(harness.Delays), TimeSpan.FromSeconds(0.375), TimeSpan.FromSeconds(0.5));
    }

    [Fact]
    public async Task ServerErrors_BackOffExponentiallyWithJitter()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(500, "error-529-01.json"),
            ScriptedReply.Json(500, "error-529-01.json"),
            ScriptedReply.Json(500, "error-529-01.json"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.BaseDelay = TimeSpan.FromSeconds(1));

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(3, captured.Attempts);
        Assert.Equal(500, captured.HttpStatus);
        Assert.Equal(2, harness.Delays.Count);
        Assert.InRange(harness.Delays[0], TimeSpan.FromSeconds(0.75), TimeSpan.FromSeconds(1));
        Assert.InRange(harness.Delays[1], TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(402)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(413)]
    public async Task ClientErrors_AreNotRetried(int status)
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(status, "error-429-00.json"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(status, captured.HttpStatus);
        Assert.Equal(1, captured.Attempts);
        Assert.Single(server.Requests);
        Assert.Equal(BodyKind.ApiError, captured.Parsed.Kind);
    }

    [Fact]
    public async Task RateLimited_WithoutRetryAfter_IsASpendLimit_AndStopsAfterOneRetry()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(429, "error-429-00.json"),
            ScriptedReply.Json(429, "error-429-00.json"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(429, captured.HttpStatus);
        Assert.Equal(2, captured.Attempts);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Overloaded529_IsRetried_ThenSucceeds()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(2, captured.Attempts);
        Assert.Equal(StreamOutcome.Completed, captured.Parsed.StreamOutcome);
    }

    [Fact]
    public async Task XShouldRetryFalse_StopsARetryableStatus()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(503, "error-529-01.json").WithHeader("x-should-retry", "false"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(503, captured.HttpStatus);
        Assert.Equal(1, captured.Attempts);
    }

    [Fact]
    public async Task XShouldRetryTrue_RetriesAStatusThatIsNormallyFinal()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(400, "error-429-00.json").WithHeader("x-should-retry", "true"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(2, captured.Attempts);
    }

    [Fact]
    public async Task HtmlBadGateway_IsCapturedAsNotJson_AfterAllRetries()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Html(502, "junk-html.json"),
            ScriptedReply.Html(502, "junk-html.json"),
            ScriptedReply.Html(502, "junk-html.json"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(502, captured.HttpStatus);
        Assert.Equal(3, captured.Attempts);
        Assert.Equal(BodyKind.NotJson, captured.Parsed.Kind);
        Assert.Equal(Fixtures.Text("junk-html.json"), captured.RawBody);
    }

    [Fact]
    public async Task MaxTokensResponse_IsNeverRetried()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Sse("stream-maxtok-00.sse"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal("max_tokens", captured.Parsed.StopReason);
        Assert.Equal(1, captured.Attempts);
    }

    [Fact]
    public async Task NoRetriesConfigured_MakesExactlyOneAttempt()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(
            ScriptedReply.Json(529, "error-529-01.json"),
            ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.MaxRetryAttempts = 0);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(529, captured.HttpStatus);
        Assert.Equal(1, captured.Attempts);
    }

    [Fact]
    public async Task NoResponseWithinTheTimeout_IsATimeout_RetriedAndThenReported()
    {
        var hang = new ScriptedReply(200, [], "application/json") { HangBeforeHeaders = true };
        await using var server = await ScriptedClaudeServer.StartAsync(hang, hang);
        // The real clock: the per-attempt timeout must actually run out.
        using var harness = new ClientHarness(
            server.BaseUrl,
            o =>
            {
                o.Timeout = TimeSpan.FromMilliseconds(300);
                o.MaxRetryAttempts = 1;
                o.BaseDelay = TimeSpan.Zero;
            },
            TimeProvider.System);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(TransportFailure.Timeout, captured.Transport);
        Assert.Equal(0, captured.HttpStatus);
        Assert.Equal(2, captured.Attempts);
        Assert.Equal(BodyKind.Empty, captured.Parsed.Kind);
    }

    [Fact]
    public async Task TimeoutMidBody_KeepsWhatArrived_AndIsNotRetried()
    {
        var partial = ScriptedReply.Sse("stream-cut-00.sse") with { PromisedLength = 1_000_000, HangAfterBody = true };
        await using var server = await ScriptedClaudeServer.StartAsync(partial, ScriptedReply.Sse("stream-complete-00.sse"));
        using var harness = new ClientHarness(server.BaseUrl, o => o.Timeout = TimeSpan.FromMilliseconds(500), TimeProvider.System);

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(TransportFailure.Timeout, captured.Transport);
        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(1, captured.Attempts);
        Assert.Equal(Fixtures.Text("stream-cut-00.sse"), captured.RawBody);
        Assert.Equal(StreamOutcome.CutBeforeMessageStop, captured.Parsed.StreamOutcome);
    }

    [Fact]
    public async Task ConnectionRefused_IsAConnectionFailure_AfterAllRetries()
    {
        using var harness = new ClientHarness(new Uri($"http://127.0.0.1:{ClosedPort()}"));

        var captured = await harness.Client.SendAsync(Request, CancellationToken.None);

        Assert.Equal(TransportFailure.ConnectionFailed, captured.Transport);
        Assert.Equal(0, captured.HttpStatus);
        Assert.Equal(3, captured.Attempts);
        Assert.NotNull(captured.TransportError);
    }

    [Fact]
    public async Task CallerCancellation_Throws_InsteadOfReportingATimeout()
    {
        await using var server = await ScriptedClaudeServer.StartAsync(new ScriptedReply(200, [], "application/json") { HangBeforeHeaders = true });
        using var harness = new ClientHarness(server.BaseUrl);
        using var cancellation = new CancellationTokenSource();

        var call = harness.Client.SendAsync(Request, cancellation.Token);
        await server.Hanging.Task;
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
