using System.Globalization;
using BRun.Diagnostics.Core.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>The simulator's organisation limits, on a fake clock so every bucket level is exact.</summary>
public sealed class OrganizationRateLimitTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
    private readonly HttpClient _http = new();
    private ClaudeSimulatorServer? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task EveryAnswer_CarriesTheEnforcedLimitsRemainingAndReset()
    {
        await StartAsync(o => (o.RequestsPerMinute, o.InputTokensPerMinute, o.OutputTokensPerMinute) = (50, 30_000, 8_000));

        var reply = await PostAsync(maxTokens: 4000);

        Assert.Equal(200, reply.Status);
        Assert.Equal("50", reply.Header("anthropic-ratelimit-requests-limit"));
        Assert.Equal("49", reply.Header("anthropic-ratelimit-requests-remaining"));
        Assert.Equal("30000", reply.Header("anthropic-ratelimit-input-tokens-limit"));
        Assert.Equal("8000", reply.Header("anthropic-ratelimit-output-tokens-limit"));
        Assert.Equal("38000", reply.Header("anthropic-ratelimit-tokens-limit"));
        // Sent as the request is admitted: 4,000 of 8,000 output tokens are reserved, and the count is rounded.
        Assert.Equal("4000", reply.Header("anthropic-ratelimit-output-tokens-remaining"));
        Assert.Equal("2026-12-02T12:00:30Z", reply.Header("anthropic-ratelimit-output-tokens-reset"));
        Assert.Equal("2026-12-02T12:00:02Z", reply.Header("anthropic-ratelimit-requests-reset"));
    }

    [Fact]
    public async Task RemainingTokens_AreRoundedToTheNearestThousand()
    {
        await StartAsync(o => o.OutputTokensPerMinute = 8_000);

        var reply = await PostAsync(maxTokens: 2_600);

        Assert.Equal("5000", reply.Header("anthropic-ratelimit-output-tokens-remaining"));
    }

    [Fact]
    public async Task OverTheRequestLimit_Answers429WithRetryAfterAndTakesNothing()
    {
        await StartAsync(o => o.RequestsPerMinute = 2);
        await PostAsync();
        await PostAsync();

        var refused = await PostAsync();

        Assert.Equal(429, refused.Status);
        Assert.Equal("rate_limit_error", ErrorType(refused));
        Assert.Contains("2 requests per minute", refused.Body, StringComparison.Ordinal);
        Assert.Equal("30", refused.Header("retry-after"));
        Assert.Equal("0", refused.Header("anthropic-ratelimit-requests-remaining"));
        var stats = _server!.RateLimitStats;
        Assert.Equal(2, stats.Admitted);
        Assert.Equal(1, stats.RejectedBy[SimulatedLimit.Requests]);
    }

    [Fact]
    public async Task AfterTheRetryAfter_TheRequestFits()
    {
        await StartAsync(o => o.RequestsPerMinute = 1);
        await PostAsync();
        var refused = await PostAsync();

        _time.Advance(TimeSpan.FromSeconds(int.Parse(refused.Header("retry-after")!, CultureInfo.InvariantCulture)));

        Assert.Equal(200, (await PostAsync()).Status);
    }

    [Fact]
    public async Task OutputLimit_ReservesMaxTokensOnArrival_AndCountsTheRealOutputAtTheEnd()
    {
        await StartAsync(o => o.OutputTokensPerMinute = 10_000);
        var first = await PostAsync(maxTokens: 4_000);
        var produced = MessageBodyParser.Parse(first.Body).Usage.OutputTokens!.Value;

        // The real output is far below 4,000, so 10,000 - produced are left; 9,500 more cannot be reserved.
        var refused = await PostAsync(maxTokens: 9_500);

        Assert.Equal(429, refused.Status);
        Assert.Contains("output tokens per minute", refused.Body, StringComparison.Ordinal);
        var expectedWait = Math.Ceiling((9_500 - (10_000 - produced)) / (10_000 / 60.0));
        Assert.Equal(expectedWait.ToString(CultureInfo.InvariantCulture), refused.Header("retry-after"));
        var call = Assert.Single(_server!.RateLimitStats.Calls);
        Assert.Equal(4_000, call.ReservedOutputTokens);
        Assert.Equal(produced, call.OutputTokens);
    }

    [Fact]
    public async Task InputLimit_CountsTheRequestsInputOnArrival()
    {
        await StartAsync(o => o.InputTokensPerMinute = 300);
        await PostAsync(prompt: new string('x', 4 * 200) + Guid.NewGuid());

        var refused = await PostAsync(prompt: new string('y', 4 * 200) + Guid.NewGuid());

        Assert.Equal(429, refused.Status);
        Assert.Contains("input tokens per minute", refused.Body, StringComparison.Ordinal);
        Assert.Equal(1, _server!.RateLimitStats.RejectedBy[SimulatedLimit.InputTokens]);
    }

    [Theory]
    [InlineData(100, 1_500, 15.5)]
    [InlineData(50, 1_000, 20.5)]
    public void WithAGenerationSpeed_LatencyIsTheFirstTokenDelayPlusOutputOverSpeed(double tokensPerSecond, int outputTokens, double expectedSeconds)
    {
        var options = new SimulatorOptions { MinLatency = TimeSpan.FromMilliseconds(500), MaxLatency = TimeSpan.FromSeconds(4), OutputTokensPerSecond = tokensPerSecond };

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), MessagesEndpoint.Latency(options, new Random(1), outputTokens));
    }

    private async Task StartAsync(Action<SimulatorOptions> configure)
    {
        var options = SimulatorFixture.TestOptions();
        options.CompleteRate = 1;
        (options.MaxTokensRate, options.EndTurnCutRate, options.StreamCutRate, options.RefusalRate, options.RateLimitedRate, options.OverloadedRate) = (0, 0, 0, 0, 0, 0);
        configure(options);
        _server = await ClaudeSimulatorServer.StartAsync(options, "http://127.0.0.1:0", NullLoggerFactory.Instance, _time, CancellationToken.None);
    }

    private Task<RawReply> PostAsync(int maxTokens = 4_000, string? prompt = null) =>
        SimulatorFixture.PostAsync(_http, _server!.BaseUrl, prompt ?? $"limits {Guid.NewGuid():N}", stream: false, maxTokens);

    private static string? ErrorType(RawReply reply) =>
        System.Text.Json.JsonDocument.Parse(reply.Body).RootElement.GetProperty("error").GetProperty("type").GetString();
}
